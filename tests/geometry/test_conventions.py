"""The statements of ``docs/conventions.md``, one test (or more) each.

The doc points at these tests by name; keep the two in step. The comparisons
with the reference libraries run their real code in their own interpreter
(VIP from ``bench/.venv-vip`` or ``$EXOBENCH_VIP_PYTHON``, pyKLIP from
``$EXOBENCH_PYKLIP_PYTHON``) and are skipped when it is not there.
"""

import ast
import importlib.util
import json
import re

import numpy as np
import pytest

from exobench.data import Dataset
from exobench.geometry import (
    cartesian_to_polar,
    derotate_cube,
    frame_center,
    pa_to_theta,
    polar_grid,
    polar_to_cartesian,
    rotate_frames,
    shift_frames,
    theta_to_pa,
)
from exobench.photometry import aperture_flux
from exobench.psf import fit_fwhm, normalize_psf, psf_flux

from .conftest import REPO, centroid, gaussian, run_reference

SIGMA_TO_FWHM = 2.0 * np.sqrt(2.0 * np.log(2.0))


# -- pixels, order of coordinates, frame centre ---------------------------------------------------


def test_pixel_centres_are_integer_coordinates():
    image = np.zeros((9, 12))
    image[3, 7] = 1.0  # the pixel whose centre is (x, y) = (7, 3)
    # an aperture of radius 0.5 on (7, 3) lies inside that pixel: it takes pi/4 of it (photutils agrees)
    assert aperture_flux(image, [(7.0, 3.0)], radius=0.5)[0] == pytest.approx(np.pi / 4, rel=1e-9)
    # its edges are at x = 7.5 and y = 3.5: half of an aperture centred there falls in it
    assert aperture_flux(image, [(7.5, 3.0)], radius=0.5)[0] == pytest.approx(np.pi / 8, rel=1e-9)
    assert aperture_flux(image, [(7.0, 2.5)], radius=0.5)[0] == pytest.approx(np.pi / 8, rel=1e-9)
    # a source centred on (x0, y0) has its centroid there, and the polar grid puts r = 0 on it
    assert centroid(gaussian((31, 31), 14.0, 16.0)) == pytest.approx((14.0, 16.0), abs=1e-9)
    radius, _ = polar_grid((9, 12), center=(7.0, 3.0))
    assert np.unravel_index(np.argmin(radius), radius.shape) == (3, 7) and radius[3, 7] == 0.0


def test_positions_are_x_y_arrays_are_indexed_y_x():
    shape = (10, 21)  # ny = 10 rows, nx = 21 columns
    xc, yc = frame_center(shape)
    assert (xc, yc) == (10.0, 5.0)  # (x, y): x first
    image = np.zeros(shape)
    x, y = polar_to_cartesian(4.0, 90.0, center=(xc, yc))  # 4 px above the centre
    image[int(round(y)), int(round(x))] = 1.0  # image[y, x]
    assert image[9, 10] == 1.0
    assert cartesian_to_polar(10.0, 9.0, center=(xc, yc)) == (4.0, 90.0)


def test_naco_star_on_pixel_49(real_data_dir):
    from astropy.io import fits

    cube = fits.getdata(real_data_dir / "naco_betapic_empty_cube.fits").astype(float)
    assert cube.shape == (61, 99, 99)
    assert frame_center(cube.shape) == (49.0, 49.0)
    # the median frame is most azimuthally symmetric about (49, 49) among the 25 pixels around it
    median = np.median(cube, axis=0)
    y, x = np.mgrid[:99, :99]

    def asymmetry(xc, yc):
        r = np.hypot(x - xc, y - yc)
        return sum(median[(r >= k) & (r < k + 1)].std() for k in range(3, 15))

    scores = {(xc, yc): asymmetry(xc, yc) for xc in range(47, 52) for yc in range(47, 52)}
    assert min(scores, key=scores.get) == (49, 49)


def test_dataset_center_is_frame_center():
    for shape in [(3, 99, 99), (3, 100, 100), (3, 20, 31)]:
        ds = Dataset(np.zeros(shape), np.zeros(3), fwhm=4.0)
        assert ds.center == frame_center(shape)


# -- angles ---------------------------------------------------------------------------------------


def test_theta_counter_clockwise_from_plus_x_origin_lower_left():
    # with origin="lower", row index y grows upwards: image[yc + 1, xc] is above the centre
    _, theta = polar_grid((7, 7))
    assert theta[3, 4] == 0.0 and theta[4, 3] == 90.0 and theta[3, 2] == 180.0 and theta[2, 3] == 270.0
    assert theta[4, 4] == pytest.approx(45.0)  # up-right of the centre: between +x and +y


def test_pa_matches_astropy_wcs_north_up_east_left():
    # an independent check of pa = theta - 90: a north-up, east-left WCS and astropy's position angle
    from astropy.wcs import WCS

    scale = 0.0272 / 3600.0  # deg per px
    wcs = WCS(naxis=2)
    wcs.wcs.ctype = ["RA---TAN", "DEC--TAN"]
    wcs.wcs.crval = [83.82, -5.39]
    wcs.wcs.crpix = [50.0, 50.0]  # FITS is 1-based: pixel (49, 49) 0-based, the star
    wcs.wcs.cd = [[-scale, 0.0], [0.0, scale]]  # east left (RA grows to -x), north up
    star = wcs.pixel_to_world(49.0, 49.0)
    for theta in (0.0, 30.0, 90.0, 135.0, 180.0, 250.0, 359.0):
        x, y = polar_to_cartesian(20.0, theta, center=(49.0, 49.0))
        pa = star.position_angle(wcs.pixel_to_world(x, y)).deg
        assert theta_to_pa(theta) == pytest.approx(pa % 360.0, abs=1e-4)
        assert pa_to_theta(pa) == pytest.approx(theta, abs=1e-4)


def test_derotation_angle_single_frame():
    # rotating frame i counter-clockwise by angles[i] takes a source from theta - angles[i] to theta
    shape, center = (41, 41), (20.0, 20.0)
    r, theta = 11.0, 60.0
    for angle in (25.0, -40.0):
        frame = gaussian(shape, *polar_to_cartesian(r, theta - angle, center=center), sigma=1.8)
        out = rotate_frames(frame, angle)
        expected = polar_to_cartesian(r, theta, center=center)
        assert centroid(out, around=expected, radius=6) == pytest.approx(expected, abs=0.02)


def test_inverse_angle_injection_aligns_fakes_and_smears_real_sources():
    # the organisers' recipe: with the instrument's derotation angles a, a fake at theta is placed at
    # theta + a[i] in frame i (as if the angles were -a) and -a is what the angles file holds
    shape = (45, 45)
    center = frame_center(shape)
    a = np.linspace(-15.0, 65.0, 17)  # the sky's true derotation angles
    r, theta_fake, theta_real = 13.0, 40.0, 210.0
    fakes = np.array([gaussian(shape, *polar_to_cartesian(r, theta_fake + ai, center=center)) for ai in a])
    real = np.array([gaussian(shape, *polar_to_cartesian(r, theta_real - ai, center=center)) for ai in a])
    published = -a
    final = derotate_cube(fakes + real, published).mean(axis=0)
    x_fake, y_fake = polar_to_cartesian(r, theta_fake, center=center)
    x_real, y_real = polar_to_cartesian(r, theta_real, center=center)
    assert centroid(final, around=(x_fake, y_fake), radius=5) == pytest.approx((x_fake, y_fake), abs=0.05)
    assert final[int(round(y_fake)), int(round(x_fake))] > 0.9  # sharp
    assert final[int(round(y_real)), int(round(x_real))] < 0.2  # smeared over twice the field rotation
    # derotating with the true angles would do the opposite
    true_final = derotate_cube(fakes + real, a).mean(axis=0)
    assert true_final[int(round(y_real)), int(round(x_real))] > 0.9


def test_inject_inverse_angles_follows_the_recipe():
    inject = pytest.importorskip("exobench.inject")
    psf = gaussian((15, 15), 7.0, 7.0, sigma=1.7)
    angles = np.linspace(0.0, 60.0, 7)
    ds = Dataset(np.zeros((7, 41, 41)), angles, psf=psf)
    result = inject.inject_companions(ds, separations=[10.0], thetas=[30.0], fluxes=[1.0], inverse_angles=True)
    np.testing.assert_array_equal(result.dataset.angles, -angles)
    # its truth is (x, y) in the final frame
    np.testing.assert_allclose(result.positions, [polar_to_cartesian(10.0, 30.0, center=(20.0, 20.0))])
    final = derotate_cube(result.dataset.cube, result.dataset.angles, method="fft").mean(axis=0)
    assert centroid(final, around=result.positions[0], radius=5) == pytest.approx(tuple(result.positions[0]),
                                                                                  abs=0.02)
    first = result.dataset.cube[1]  # frame 1 (a = 10): the fake sits at theta + a = 40
    expected = polar_to_cartesian(10.0, 40.0, center=(20.0, 20.0))
    assert centroid(first, around=expected, radius=5) == pytest.approx(expected, abs=0.02)


# -- interpolation -----------------------------------------------------------------------------------


def test_default_methods():
    frame = np.random.default_rng(20).normal(size=(11, 11))
    np.testing.assert_array_equal(rotate_frames(frame, 17.0), rotate_frames(frame, 17.0, method="bilinear"))
    np.testing.assert_array_equal(shift_frames(frame, 0.3, 0.1), shift_frames(frame, 0.3, 0.1, method="fft"))


# -- FWHM, aperture, PSF normalisation, contrast --------------------------------------------------------


def test_fwhm_of_a_gaussian():
    for sigma in (1.5, 2.0, 3.0):
        psf = gaussian((31, 31), 15.0, 15.0, sigma=sigma)
        assert fit_fwhm(psf) == pytest.approx(SIGMA_TO_FWHM * sigma, rel=2e-3)


def test_psf_normalisation_unit_flux_in_one_fwhm_aperture():
    psf = 37.0 * gaussian((21, 21), 10.0, 10.0, sigma=1.9)
    fwhm = SIGMA_TO_FWHM * 1.9
    normalized = normalize_psf(psf, fwhm)
    assert aperture_flux(normalized, [(10.0, 10.0)], radius=fwhm / 2.0)[0] == pytest.approx(1.0, rel=1e-12)
    # the aperture has a diameter of 1 FWHM: a Gaussian holds about half its flux in it
    assert psf_flux(psf, fwhm) / psf.sum() == pytest.approx(0.5, abs=0.02)
    # and the star's flux of a dataset is its PSF's flux in that aperture
    ds = Dataset(np.zeros((2, 31, 31)), [0.0, 1.0], psf=psf, fwhm=fwhm)
    assert ds.star_flux == pytest.approx(psf_flux(psf, fwhm), rel=1e-12)


def test_contrast_means_fraction_of_star_flux():
    inject = pytest.importorskip("exobench.inject")
    psf = 500.0 * gaussian((15, 15), 7.0, 7.0, sigma=1.7)
    angles = np.array([0.0, 90.0, 180.0, -90.0])  # quarter turns keep the companion on pixel centres
    ds = Dataset(np.zeros((4, 41, 41)), angles, psf=psf)
    contrast = 3e-3
    result = inject.inject_companions(ds, separations=[11.0], thetas=[90.0], contrasts=[contrast])
    final = derotate_cube(result.dataset.cube, result.dataset.angles).mean(axis=0)
    flux = aperture_flux(final, [(20.0, 31.0)], radius=ds.fwhm / 2.0)[0]
    assert flux == pytest.approx(contrast * ds.star_flux, rel=1e-9)
    # anywhere else, the companion is the scaled normalised PSF: its total flux says so
    result = inject.inject_companions(ds.replace(angles=np.linspace(0.0, 40.0, 4)), separations=[11.3],
                                      thetas=[75.0], contrasts=[contrast])
    scale = contrast * ds.star_flux * ds.normalized_psf.sum()
    # (to 1e-6: the Fourier shift's faint ringing in the stamp's zero border may fall off the frame)
    np.testing.assert_allclose(result.dataset.cube.sum(axis=(1, 2)), scale, rtol=1e-6)


def test_aperture_flux_depends_on_pixel_phase():
    # pixels are flat in exact aperture photometry: off a pixel centre the 1-FWHM aperture of the
    # same source holds up to about 2 % more or less (FWHM 4 px) -- measure at known positions alike
    fwhm = 4.0
    sigma = fwhm / SIGMA_TO_FWHM
    centred = aperture_flux(gaussian((41, 41), 20.0, 20.0, sigma=sigma), [(20.0, 20.0)], radius=fwhm / 2)[0]
    half = aperture_flux(gaussian((41, 41), 20.5, 20.5, sigma=sigma), [(20.5, 20.5)], radius=fwhm / 2)[0]
    assert 0.005 < abs(half / centred - 1.0) < 0.03


# -- EIDC files ---------------------------------------------------------------------------------------------


def test_eidc_positions_are_x_y_in_the_final_frame(real_data_dir):
    from astropy.io import fits

    cases = real_data_dir.parent / "scoring" / "eidc2019"
    if not cases.is_dir():
        pytest.skip(f"EIDC scoring test vectors not found at {cases}")
    read_as_xy, read_as_yx = [], []
    for case in sorted(cases.glob("case_*")):
        for positions_file in sorted((case / "ref").glob("inst_positions_*.fits")):
            k = positions_file.stem.rsplit("_", 1)[1]
            detmap = fits.getdata(case / "res" / f"inst_detmap_{k}.fits").astype(float)
            for x, y in fits.getdata(positions_file).astype(float).reshape(-1, 2):
                read_as_xy.append(detmap[int(round(y)), int(round(x))])  # column 0 is x
                read_as_yx.append(detmap[int(round(x)), int(round(y))])
    assert len(read_as_xy) > 50
    # the 2019 detection maps light up where the positions point when read as (x, y), not as (y, x)
    assert np.mean(read_as_xy) > np.mean(read_as_yx) + 1.0


# -- the reference libraries ------------------------------------------------------------------------------

VIP_SCRIPT = r"""
import json, warnings
warnings.simplefilter("ignore")
import numpy as np
from vip_hci.var import frame_center
from vip_hci.preproc import cube_derotate, frame_rotate
from vip_hci.fm import normalize_psf, cube_inject_companions
from photutils.aperture import CircularAperture

n = 41; y, x = np.mgrid[:n, :n]
def g(x0, y0, s=1.8): return np.exp(-((x - x0) ** 2 + (y - y0) ** 2) / (2 * s * s))
def cen(f):
    f = np.nan_to_num(f); return [(f * x).sum() / f.sum(), (f * y).sum() / f.sum()]
out = {"centers": {str(s): [float(v) for v in frame_center(np.zeros(s))] for s in
                   [(99, 99), (100, 100), (101, 101), (10, 21), (3, 100, 100)]}}
angles = np.array([-20.0, 0.0, 15.0, 40.0, 60.0]); r, th = 12.0, 35.0
cube = np.array([g(20 + r * np.cos(np.radians(th - a)), 20 + r * np.sin(np.radians(th - a))) for a in angles])
out["derotated"] = cen(cube_derotate(cube, angles, imlib="vip-fft").mean(axis=0))
out["frame_rotate_plus_90"] = cen(frame_rotate(g(30.0, 20.0), 90.0, imlib="vip-fft"))
psf = 7.0 * g(20.0, 20.0, 1.9)[10:31, 10:31]
fwhm = 2 * np.sqrt(2 * np.log(2)) * 1.9
norm = normalize_psf(psf, fwhm=fwhm, size=None, verbose=False)
out["normalised_flux"] = float(CircularAperture((10, 10), r=fwhm / 2).do_photometry(norm, method="exact")[0][0])
inj = cube_inject_companions(np.zeros((5, n, n)), norm, angles, flevel=1.0, rad_dists=[r], theta=th, verbose=False)
out["injected_frames"] = [cen(f) for f in inj]
print(json.dumps(out))
"""


def test_vip_agrees():
    vip = run_reference("EXOBENCH_VIP_PYTHON", REPO / "bench" / ".venv-vip" / "bin" / "python", VIP_SCRIPT,
                        what="VIP (vip_hci)")
    # same centre pixel n // 2, but VIP returns it as (y, x)
    for shape, (cy, cx) in vip["centers"].items():
        assert (cx, cy) == frame_center(json.loads(shape.replace("(", "[").replace(")", "]")))
    # same derotation angles: a source at theta - angles[i] ends at theta
    center, r, theta = (20.0, 20.0), 12.0, 35.0
    assert vip["derotated"] == pytest.approx(polar_to_cartesian(r, theta, center=center), abs=0.02)
    # its frame_rotate(frame, +90) turns clockwise: theta 0 -> theta 270, exobench's rotate_frames(frame, -90)
    assert vip["frame_rotate_plus_90"] == pytest.approx((20.0, 10.0), abs=1e-3)
    ours = centroid(rotate_frames(gaussian((41, 41), 30.0, 20.0, sigma=1.8), -90.0))
    assert ours == pytest.approx(vip["frame_rotate_plus_90"], abs=1e-3)
    # same PSF normalisation, and its injection puts a companion at theta - angles[i] in frame i
    assert vip["normalised_flux"] == pytest.approx(1.0, rel=1e-6)
    angles = np.array([-20.0, 0.0, 15.0, 40.0, 60.0])
    for (x, y), angle in zip(vip["injected_frames"], angles):
        assert (x, y) == pytest.approx(polar_to_cartesian(r, theta - angle, center=center), abs=0.02)


PYKLIP_SCRIPT = r"""
import json, os, tempfile, warnings
warnings.simplefilter("ignore")
import numpy as np
from astropy.wcs import WCS
import pyklip.klip as klip, pyklip.fakes as fakes, pyklip.parallelized as par
import pyklip.instruments.Instrument as Instrument

def grid(n): return np.mgrid[:n, :n]
def g(n, x0, y0, s=1.8):
    y, x = grid(n); return np.exp(-((x - x0) ** 2 + (y - y0) ** 2) / (2 * s * s))
def cen(f, near=None):
    y, x = grid(f.shape[0]); f = np.nan_to_num(f)
    if near is not None: f = np.where(np.hypot(x - near[0], y - near[1]) < 5, f, 0)
    return [(f * x).sum() / f.sum(), (f * y).sum() / f.sum()]
out = {}
out["rotate_plus_90_about_31_20"] = cen(klip.rotate(g(41, 34.0, 20.0), 90.0, [31.0, 20.0]))
frames = np.zeros((1, 41, 41))
fakes.inject_planet(frames, [[20.0, 20.0]], [1.0], None, 10.0, 0.0, fwhm=4.0, thetas=[90.0])
out["inject_theta_90"] = cen(frames[0])
w = WCS(naxis=2); w.wcs.ctype = ["RA---TAN", "DEC--TAN"]; w.wcs.cd = [[-1e-5, 0.0], [0.0, 1e-5]]
out["pa_to_theta"] = [float(fakes.convert_pa_to_image_polar(pa, w)) for pa in (0.0, 45.0, 90.0, 200.0)]
runs = {}
for n in (41, 42):
    c = n // 2; angles = np.linspace(-30.0, 60.0, 12); r, th = 11.0, 35.0
    rng = np.random.default_rng(0)
    cube = np.array([g(n, c + r * np.cos(np.radians(th - a)), c + r * np.sin(np.radians(th - a))) for a in angles])
    cube += 0.01 * rng.normal(size=cube.shape)
    ds = Instrument.GenericData(cube, np.array([[c, c]] * 12, float), parangs=angles)
    par.klip_dataset(ds, outputdir=tempfile.mkdtemp(), fileprefix="t", annuli=1, subsections=1, numbasis=[1],
                     mode="ADI", movement=1, numthreads=1, verbose=False, algo="none")
    final = np.nanmean(ds.output[0, :, 0], axis=0)
    runs[n] = {"center": [float(v) for v in ds.output_centers[0]],
               "source": cen(final, near=(c + r * np.cos(np.radians(th)), c + r * np.sin(np.radians(th))))}
out["klip_dataset"] = runs
print(json.dumps(out))
"""


def test_pyklip_agrees():
    pyklip = run_reference("EXOBENCH_PYKLIP_PYTHON", "", PYKLIP_SCRIPT, what="pyKLIP")
    # klip.rotate(img, angle, [x, y]) turns counter-clockwise about an (x, y) centre, like rotate_frames
    ours = centroid(rotate_frames(gaussian((41, 41), 34.0, 20.0, sigma=1.8), 90.0, center=(31, 20)))
    assert pyklip["rotate_plus_90_about_31_20"] == pytest.approx(ours, abs=1e-3)
    assert ours == pytest.approx((31.0, 23.0), abs=1e-3)
    # its thetas are ours; with a north-up, east-left WCS its PA -> theta is pa_to_theta
    assert pyklip["inject_theta_90"] == pytest.approx((20.0, 30.0), abs=0.01)  # its stamp is cut unevenly
    assert pyklip["pa_to_theta"] == pytest.approx([pa_to_theta(pa) for pa in (0.0, 45.0, 90.0, 200.0)])
    # klip_dataset derotates with the dataset's parangs as they are (our angles, same sign) onto pixel n // 2
    for n, run in pyklip["klip_dataset"].items():
        c = frame_center((int(n), int(n)))
        assert tuple(run["center"]) == c
        assert run["source"] == pytest.approx(polar_to_cartesian(11.0, 35.0, center=c), abs=0.05)


# -- the doc itself --------------------------------------------------------------------------------------


def test_every_doc_reference_exists():
    doc = (REPO / "docs" / "conventions.md").read_text()
    references = [ref.strip() for block in re.findall(r"\(tested:([^)]*)\)", doc) for ref in block.split(",")]
    assert len(references) > 40
    here = REPO / "tests" / "geometry"
    defined = {}
    for path in here.glob("test_*.py"):
        tree = ast.parse(path.read_text())
        defined[path.name] = {node.name for node in tree.body if isinstance(node, ast.FunctionDef)}
    missing = []
    for ref in references:
        file, _, name = " ".join(ref.split()).partition("::")
        if name not in defined.get(file, set()):
            missing.append(ref)
    assert not missing, f"docs/conventions.md names tests that do not exist: {missing}"


def test_make_figures_draws_the_conventions_figure(tmp_path):
    pytest.importorskip("matplotlib")
    spec = importlib.util.spec_from_file_location("make_figures", REPO / "docs" / "make_figures.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    path = tmp_path / "conventions.png"
    module.conventions_figure(path)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and path.stat().st_size > 20_000
    assert "figures/conventions.png" in (REPO / "docs" / "conventions.md").read_text()
