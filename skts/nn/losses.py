"""Losses of the pretext and clustering phases, and the soft assignment they share."""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

__all__ = ["MaskedMSELoss", "kl_clustering_loss", "student_t_assignment", "target_distribution"]


class MaskedMSELoss(nn.Module):
    """Mean squared error over the timestamps a mask selects.

    The error is averaged over the selected timestamps and every channel;
    an empty mask gives 0. It takes no parameters; :meth:`forward` says
    what a call takes.

    Examples
    --------
    >>> import torch
    >>> from skts.nn import MaskedMSELoss
    >>> x = torch.zeros(1, 3, 1)
    >>> x_hat = torch.tensor([[[1.0], [2.0], [100.0]]])
    >>> MaskedMSELoss()(x_hat, x, torch.tensor([[True, True, False]]))
    tensor(2.5000)
    """

    def forward(self, x_hat: torch.Tensor, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """The mean squared error of ``x_hat`` where ``mask`` is True.

        Parameters
        ----------
        x_hat : Tensor of shape (batch, time, channels)
            The reconstruction.
        x : Tensor of shape (batch, time, channels)
            The series.
        mask : bool Tensor of shape (batch, time)
            The timestamps to score, for example those hidden from the encoder.

        Returns
        -------
        loss : scalar Tensor
            The squared errors summed over the selected timestamps and every
            channel, divided by their number (0 when none is selected).
        """
        m = mask[..., None].to(x_hat.dtype)
        n = (m.sum() * x_hat.shape[-1]).clamp_min(1.0)
        return (((x_hat - x) ** 2) * m).sum() / n


def student_t_assignment(
    z: torch.Tensor, centers: torch.Tensor, alpha: float = 1.0
) -> torch.Tensor:
    """Soft assignment of embeddings to centres with a Student's t kernel (DEC).

    ``q[i, j]`` is proportional to ``(1 + |z_i - mu_j|^2 / alpha) ** (-(alpha + 1) / 2)``;
    rows sum to 1 and the nearest centre has the largest weight. Computed in
    float32 whatever the input precision.

    Parameters
    ----------
    z : Tensor of shape (n_samples, n_features)
        The embeddings.
    centers : Tensor of shape (n_clusters, n_features)
        The cluster centres.
    alpha : float, default=1.0
        Degrees of freedom of the Student's t kernel.

    Returns
    -------
    q : Tensor of shape (n_samples, n_clusters)
        Each embedding's weight on each centre, in float32.

    Examples
    --------
    >>> import torch
    >>> from skts.nn.losses import student_t_assignment
    >>> z = torch.tensor([[0.0, 0.0], [3.0, 4.0]])
    >>> centers = torch.tensor([[0.0, 0.0], [3.0, 4.0]])
    >>> student_t_assignment(z, centers).round(decimals=3)
    tensor([[0.9630, 0.0370],
            [0.0370, 0.9630]])
    """
    d2 = torch.cdist(z.float(), centers.float()).pow(2)
    logits = -(alpha + 1.0) / 2.0 * torch.log1p(d2 / alpha)
    return torch.softmax(logits, dim=1)


def target_distribution(q: torch.Tensor) -> torch.Tensor:
    """DEC's sharpened target ``p_ij ∝ q_ij^2 / f_j`` with ``f_j = sum_i q_ij``.

    Confident assignments grow more confident, and the division by the
    cluster's total weight ``f_j`` keeps large clusters from taking over:
    below, the second series, undecided, leans to the smaller cluster.

    Parameters
    ----------
    q : Tensor of shape (n_samples, n_clusters)
        Soft assignments whose rows sum to 1, as from :func:`student_t_assignment`.

    Returns
    -------
    p : Tensor of shape (n_samples, n_clusters)
        Rows sum to 1.

    Examples
    --------
    >>> import torch
    >>> from skts.nn.losses import target_distribution
    >>> target_distribution(torch.tensor([[0.6, 0.4], [0.5, 0.5]])).round(decimals=3)
    tensor([[0.6480, 0.3520],
            [0.4500, 0.5500]])
    """
    weight = q**2 / q.sum(dim=0, keepdim=True)
    return weight / weight.sum(dim=1, keepdim=True)


def kl_clustering_loss(q: torch.Tensor, p: torch.Tensor) -> torch.Tensor:
    """``KL(P || Q)`` averaged over the batch, in float32.

    Parameters
    ----------
    q : Tensor of shape (n_samples, n_clusters)
        The soft assignments, clamped at 1e-12 before the logarithm.
    p : Tensor of shape (n_samples, n_clusters)
        The target, usually ``target_distribution(q).detach()``.

    Returns
    -------
    loss : scalar Tensor
        ``sum_j p_ij * log(p_ij / q_ij)``, averaged over the rows.

    Examples
    --------
    >>> import torch
    >>> from skts.nn.losses import kl_clustering_loss, target_distribution
    >>> q = torch.tensor([[0.6, 0.4], [0.5, 0.5]])
    >>> float(kl_clustering_loss(q, q))
    0.0
    >>> float(kl_clustering_loss(q, target_distribution(q))) > 0
    True
    """
    return F.kl_div(q.float().clamp_min(1e-12).log(), p.float(), reduction="batchmean")
