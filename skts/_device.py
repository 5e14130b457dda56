"""Turn a ``device`` parameter into a torch device that exists here."""

from __future__ import annotations

from typing import Any

import torch

__all__ = ["available_devices", "resolve_device"]


def available_devices() -> list[str]:
    """The devices this machine offers, best first.

    Examples
    --------
    >>> from skts._device import available_devices
    >>> "cpu" in available_devices()
    True
    """
    devices = (
        [f"cuda:{i}" for i in range(torch.cuda.device_count())] if torch.cuda.is_available() else []
    )
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        devices.append("mps")
    return devices + ["cpu"]


def resolve_device(device: Any) -> str | None:
    """Check a requested device and return it as a string torch accepts.

    Parameters
    ----------
    device : str, torch.device or None
        ``"cpu"``, ``"cuda"``, ``"cuda:N"``, ``"mps"``, ``"auto"`` (the best
        available: CUDA, then MPS, then CPU) or None (leave tensors where
        they are, as skorch does).

    Returns
    -------
    device : str or None

    Raises
    ------
    ValueError
        When the device is malformed or not available on this machine; the
        message lists the devices that are.

    Examples
    --------
    >>> from skts._device import resolve_device
    >>> resolve_device("cpu")
    'cpu'
    """
    if device is None:
        return None
    if isinstance(device, str) and device == "auto":
        return available_devices()[0]
    try:
        parsed = torch.device(device)
    except (RuntimeError, TypeError):
        raise ValueError(
            f"device={device!r} is not a device; expected 'cpu', 'cuda', 'cuda:N', 'mps' or "
            f"'auto'. Available here: {available_devices()}."
        ) from None
    available = available_devices()
    if parsed.type == "cuda":
        if not torch.cuda.is_available():
            raise ValueError(
                f"device={device!r} was requested but CUDA is not available on this machine "
                f"(torch.cuda.is_available() is False). Available here: {available}; "
                "device='auto' picks the best of them."
            )
        if parsed.index is not None and parsed.index >= torch.cuda.device_count():
            raise ValueError(
                f"device={device!r} was requested but this machine has "
                f"{torch.cuda.device_count()} CUDA device(s). Available here: {available}."
            )
    elif parsed.type == "mps" and "mps" not in available:
        raise ValueError(
            f"device={device!r} was requested but MPS is not available on this machine. "
            f"Available here: {available}."
        )
    elif parsed.type not in ("cpu", "cuda", "mps"):
        raise ValueError(
            f"device={device!r} is not supported; expected 'cpu', 'cuda', 'cuda:N', 'mps' or "
            f"'auto'. Available here: {available}."
        )
    return str(parsed) if parsed.type != "cuda" or parsed.index is not None else "cuda"
