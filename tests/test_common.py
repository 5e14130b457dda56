"""scikit-learn's common estimator checks on every public estimator."""

from sklearn.utils.estimator_checks import parametrize_with_checks

from skts import PaddingTransformer, TimeSeriesScaler

ANY_LENGTH = "accepts series of any length at transform time by design, so it does not reject a different number of timestamps"


def expected_failed_checks(estimator):
    if isinstance(estimator, (PaddingTransformer, TimeSeriesScaler)):
        return {
            "check_n_features_in_after_fitting": ANY_LENGTH,
            "check_transformer_general": ANY_LENGTH,
        }
    return {}


@parametrize_with_checks(
    [PaddingTransformer(), TimeSeriesScaler()],
    expected_failed_checks=expected_failed_checks,
)
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)
