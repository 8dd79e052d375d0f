"""VIP's side of bench/andromeda_conventions.py (run with bench/.venv-vip/bin/python): its own pre-processing.

Usage::

    bench/.venv-vip/bin/python bench/vip_andromeda_steps.py prepare CUBE.npy PSF.npy OUT.npz
    bench/.venv-vip/bin/python bench/vip_andromeda_steps.py normalise SNR.npy OUT.npy

``prepare``: what ``vip_hci.invprob.andromeda`` does to its inputs before the likelihood, with its
own functions: the cube shifted by half a pixel (``subpixel_shift``) and cropped to an even size
(``cube``), that cube high-pass filtered (``filtered``, ``cube_filter_highpass(mode="hann")``),
the PSF shifted and cropped alike, divided by its maximum (``psf_scale``) and filtered on its own
grid (``psf``). ``normalise``: VIP's radial normalisation (``normalize_snr``, ``nsmooth_snr=18``,
as ``andromeda`` calls it) of a raw S/N map in VIP's layout (zeros where undefined).
"""

import sys

import numpy as np

FILTERING_FRACTION = 0.25
NSMOOTH_SNR = 18


def prepare(cube_path, psf_path, out_path):
    from vip_hci.invprob.utils_andro import subpixel_shift
    from vip_hci.var.filters import cube_filter_highpass, frame_filter_highpass

    cube, psf = np.load(cube_path).astype(np.float64), np.load(psf_path).astype(np.float64)
    if cube.shape[-1] % 2 == 0 or psf.shape[-1] % 2 == 0:
        raise SystemExit("prepare: expected odd frames and PSF (the half-pixel shift and crop of odd ones)")
    shifted = np.array([subpixel_shift(frame, 0.5, 0.5) for frame in cube])[:, 1:, 1:]
    psf = subpixel_shift(psf, 0.5, 0.5)[1:, 1:]
    scale = float(np.max(psf))
    psf = frame_filter_highpass(psf / scale, "hann", hann_cutoff=FILTERING_FRACTION)
    filtered = cube_filter_highpass(shifted, mode="hann", hann_cutoff=FILTERING_FRACTION, verbose=False)
    np.savez(out_path, cube=shifted, filtered=filtered, psf=psf, psf_scale=scale)


def normalise(snr_path, out_path):
    from vip_hci.invprob.andromeda import normalize_snr

    snr_norm, _ = normalize_snr(np.load(snr_path), nsmooth_snr=NSMOOTH_SNR, fast=False)
    np.save(out_path, snr_norm)


if __name__ == "__main__":
    commands = {"prepare": (prepare, 3), "normalise": (normalise, 2)}
    if len(sys.argv) < 2 or sys.argv[1] not in commands or len(sys.argv) != 2 + commands[sys.argv[1]][1]:
        raise SystemExit(__doc__)
    function, _ = commands[sys.argv[1]]
    function(*sys.argv[2:])
