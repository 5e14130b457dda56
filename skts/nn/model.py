"""The module a clusterer trains: an encoder, a pretext corruption and cluster centres."""

from __future__ import annotations

from numbers import Integral

import torch
from numpy.typing import ArrayLike
from torch import nn

from ._masking import draw_hidden_spans, split_padding
from .losses import student_t_assignment

__all__ = ["ClusteringModel"]


class ClusteringModel(nn.Module):
    """Wrap an encoder with what clustering needs around it.

    ``forward`` takes a NaN-padded batch (batch, n_timestamps, n_channels)
    and returns ``(q, e, x_hat, target)``:

    - ``q``: soft assignments to the centres (Student's t, rows sum to 1);
    - ``e``: the embeddings in the clustering space, an affine map of the
      encoder's embedding (``(z - offset) @ projection``) that the clusterer
      sets after the pretext phase (identity until then);
    - ``x_hat``: the encoder's reconstruction of the input;
    - ``target``: the timestamps the reconstruction loss is scored on.

    In training mode a fraction ``mask_ratio`` of the observed timestamps is
    hidden (set to 0) before encoding, in spans whose mean length is
    ``mask_span`` of each series' (:func:`draw_hidden_spans`), and becomes
    the reconstruction target (masked reconstruction); otherwise the target
    is every observed timestamp. ``forward(X, hidden)`` hides the
    timestamps that the boolean tensor ``hidden`` (batch, n_timestamps)
    marks instead, in either mode: a validation loss then measures what
    training minimises, on timestamps chosen once. While ``pretext_only`` is True, ``q`` and ``e``
    are None and only the reconstruction is computed, through the encoder's
    ``reconstruct(x, mask)`` when it has one (a cheaper pass).

    Parameters
    ----------
    encoder : torch.nn.Module
        An encoder following the protocol of :mod:`skts.nn.encoders`.
    n_clusters : int
        The number of centres.
    mask_ratio : float, default=0.3
        The fraction of timestamps hidden in training mode.
    mask_span : float, default=0.0625
        The mean length of a hidden span as a fraction of the series'
        length; 0 hides timestamps independently.
    alpha : float, default=1.0
        Degrees of freedom of the Student's t kernel.

    Examples
    --------
    >>> import torch
    >>> from skts.nn import ClusteringModel, ConvEncoder
    >>> model = ClusteringModel(ConvEncoder(n_timestamps=20, hidden_size=8), n_clusters=3).eval()
    >>> X = torch.randn(4, 20, 1)
    >>> X[0, 15:] = float("nan")  # the first series is 15 timestamps long
    >>> q, e, x_hat, target = model(X)
    >>> tuple(q.shape), tuple(e.shape), tuple(x_hat.shape), int(target[0].sum())
    ((4, 3), (4, 16), (4, 20, 1), 15)
    >>> hidden = torch.zeros(4, 20, dtype=torch.bool)
    >>> hidden[:, ::4] = True  # hide every fourth timestamp, then score only those
    >>> *_, target = model(X, hidden)
    >>> target[1].nonzero().flatten().tolist()
    [0, 4, 8, 12, 16]
    """

    def __init__(
        self,
        encoder: nn.Module,
        n_clusters: int,
        *,
        mask_ratio: float = 0.3,
        mask_span: float = 0.0625,
        alpha: float = 1.0,
    ) -> None:
        super().__init__()
        self.encoder = encoder
        self.pretext_only = False
        self.mask_ratio = mask_ratio
        self.mask_span = mask_span
        self.alpha = alpha
        dim = getattr(encoder, "embedding_dim", None)
        if not isinstance(dim, Integral) or isinstance(dim, bool) or dim < 1:
            raise TypeError(
                f"The encoder {type(encoder).__name__} should expose embedding_dim, the width "
                f"of the embeddings its forward returns (an int >= 1); got {dim!r}. The "
                "protocol is in the docstring of skts.nn.encoders."
            )
        self.embedding_dim = int(dim)
        self.register_buffer("offset", torch.zeros(self.embedding_dim))
        self.register_buffer("projection", torch.eye(self.embedding_dim))
        self.centers = nn.Parameter(torch.zeros(n_clusters, self.embedding_dim))

    @torch.no_grad()
    def set_clustering_space(
        self, offset: ArrayLike, projection: ArrayLike, centers: ArrayLike
    ) -> None:
        """Set the affine map to the clustering space and the centres in it.

        The centres keep their ``nn.Parameter`` (an optimizer holding it
        stays valid); only their values and size change.

        Parameters
        ----------
        offset : array-like of shape (embedding_dim,)
            Subtracted from the encoder's embeddings.
        projection : array-like of shape (embedding_dim, n_dims)
            Maps the centred embeddings to the clustering space.
        centers : array-like of shape (n_clusters, n_dims)
            The centres in the clustering space.
        """
        device = self.centers.device
        self.offset = torch.as_tensor(offset, dtype=torch.float32, device=device)
        self.projection = torch.as_tensor(projection, dtype=torch.float32, device=device)
        self.centers.data = torch.as_tensor(centers, dtype=torch.float32, device=device)

    def embed(self, z: torch.Tensor) -> torch.Tensor:
        """Map encoder embeddings ``z`` (batch, embedding_dim) to the clustering space.

        Returns ``(z - offset) @ projection``, of shape (batch, n_dims).
        """
        return (z - self.offset) @ self.projection

    def forward(
        self, X: torch.Tensor, hidden: torch.Tensor | None = None
    ) -> tuple[torch.Tensor | None, torch.Tensor | None, torch.Tensor | None, torch.Tensor]:
        x, mask = split_padding(X)
        target = mask
        if hidden is None and self.training and self.mask_ratio > 0:
            hidden = draw_hidden_spans(mask, self.mask_ratio, self.mask_span)
        if hidden is not None:
            hidden = hidden & mask
            x = x.masked_fill(hidden[..., None], 0.0)
            # A series with no hidden step (a short one) is scored on all its steps.
            target = torch.where(hidden.any(dim=1, keepdim=True), hidden, mask)
        if self.pretext_only:
            reconstruct = getattr(self.encoder, "reconstruct", None)
            x_hat = reconstruct(x, mask) if reconstruct else self._encode(x, mask)[1]
            return None, None, self._checked_reconstruction(x_hat, x), target
        z, x_hat = self._encode(x, mask)
        e = self.embed(z)
        x_hat = self._checked_reconstruction(x_hat, x)
        return student_t_assignment(e, self.centers, self.alpha), e, x_hat, target

    def _encode(
        self, x: torch.Tensor, mask: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """The encoder's ``(z, x_hat)``, or a TypeError that says how it breaks the protocol."""
        name = type(self.encoder).__name__
        out = self.encoder(x, mask)
        if not isinstance(out, (tuple, list)) or len(out) != 2:
            got = f"a {type(out).__name__}" + (
                f" of shape {tuple(out.shape)}" if isinstance(out, torch.Tensor) else ""
            )
            raise TypeError(
                f"{name}.forward(x, mask) should return a pair (embeddings, reconstruction), "
                f"the reconstruction None when it has no decoder; got {got}."
            )
        z, x_hat = out
        if not isinstance(z, torch.Tensor) or z.shape != (x.shape[0], self.embedding_dim):
            shape = tuple(z.shape) if isinstance(z, torch.Tensor) else type(z).__name__
            raise TypeError(
                f"{name}.forward(x, mask) should return embeddings of shape (batch, "
                f"embedding_dim) = {(x.shape[0], self.embedding_dim)}; got {shape}."
            )
        return z, x_hat

    def _checked_reconstruction(
        self, x_hat: torch.Tensor | None, x: torch.Tensor
    ) -> torch.Tensor | None:
        """``x_hat`` when None or shaped as ``x``; otherwise a TypeError (no silent broadcasting)."""
        if x_hat is not None and (not isinstance(x_hat, torch.Tensor) or x_hat.shape != x.shape):
            got = tuple(x_hat.shape) if isinstance(x_hat, torch.Tensor) else type(x_hat).__name__
            raise TypeError(
                f"The reconstruction of {type(self.encoder).__name__} should have the shape of "
                f"its input x, (batch, n_timestamps, n_channels) = {tuple(x.shape)}; got {got}."
            )
        return x_hat
