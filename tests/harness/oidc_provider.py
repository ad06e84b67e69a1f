"""A real OpenID Connect provider for tests: the certified `oidc-provider` npm package, run
with the machine's Node.js on 127.0.0.1 (see oidc/provider.mjs for what it serves).

- `ensure_installed()`: `npm ci` into tests/harness/oidc when the pinned package is missing.
- `OidcProvider`: one provider process (a `Process`) with one confidential client
  (client_secret_basic, PKCE S256 required) and the given accounts; ready when its discovery
  document answers 200.
- `sign_in()`: a user's trip through the provider with a cookie-keeping httpx client: the
  login form, one submit, and back to the relying party's redirect_uri (not requested).

Nothing here imports pytest or the service.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import subprocess
from collections.abc import Mapping
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import parse_qs, urljoin, urlsplit

import httpx

from tests.harness.processes import (
    HOST,
    STARTUP_SECONDS,
    Process,
    ProcessFailed,
    free_port,
    http_status,
)

OIDC_DIR = Path(__file__).resolve().parent / "oidc"
PACKAGE = "oidc-provider"
INSTALL_SECONDS = 600.0
MAX_REDIRECTS = 20


class NodeMissing(RuntimeError):
    """Node.js (or npm) is not installed: the provider cannot run."""


# -- installing -------------------------------------------------------------------------------
def _which(program: str) -> str:
    found = shutil.which(program)
    if found is None:
        raise NodeMissing(
            f"`{program}` is not on PATH: the OpenID Connect provider of the tests runs on "
            f"Node.js (>= 18; apt-get install nodejs npm), from {OIDC_DIR}"
        )
    return found


def _installed() -> bool:
    """Is the version package.json pins the one in node_modules?"""
    wanted = json.loads((OIDC_DIR / "package.json").read_text())["dependencies"][PACKAGE]
    manifest = OIDC_DIR / "node_modules" / PACKAGE / "package.json"
    if not manifest.exists():
        return False
    return bool(json.loads(manifest.read_text())["version"] == wanted)


def ensure_installed() -> Path:
    """The folder of provider.mjs, after `npm ci` if the pinned oidc-provider is missing (a
    clean clone). Parallel callers (xdist workers) wait for one install."""
    _which("node")
    if _installed():
        return OIDC_DIR
    npm = _which("npm")
    # Lock a file that is always there, so that two workers do not run `npm ci` at once.
    with (OIDC_DIR / "package-lock.json").open("rb") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not _installed():
            done = subprocess.run(
                [npm, "ci", "--no-audit", "--no-fund", "--prefix", str(OIDC_DIR)],
                capture_output=True,
                text=True,
                timeout=INSTALL_SECONDS,
            )
            if done.returncode != 0 or not _installed():
                raise ProcessFailed(
                    f"npm ci in {OIDC_DIR} failed ({done.returncode}):\n"
                    f"{done.stdout[-2000:]}\n{done.stderr[-2000:]}"
                )
    return OIDC_DIR


# -- the provider -------------------------------------------------------------------------------
class OidcProvider(Process):
    """`node provider.mjs` on 127.0.0.1 and a free port; the issuer is `http://127.0.0.1:PORT`
    followed by `issuer_path` (e.g. "/", as Auth0 names itself).

    `accounts`: login name -> claims (`sub`, `email`, `email_verified`, `name`); signing in
    with any other login name fails. `post_logout_uri`: the client's one
    post_logout_redirect_uri, for RP-initiated logout. The log is `log_dir/oidc-provider.log`.
    """

    def __init__(
        self,
        client_id: str,
        client_secret: str,
        redirect_uri: str,
        accounts: Mapping[str, Mapping[str, object]],
        *,
        log_dir: Path,
        post_logout_uri: str | None = None,
        port: int | None = None,
        issuer_path: str = "",
    ) -> None:
        self.client_id = client_id
        self.client_secret = client_secret
        self.redirect_uri = redirect_uri
        self.post_logout_uri = post_logout_uri
        self.port = port or free_port()
        self.issuer = f"http://{HOST}:{self.port}{issuer_path}"
        env = {k: v for k, v in os.environ.items() if not k.startswith("OIDC_")}
        env.update(
            OIDC_PORT=str(self.port),
            OIDC_CLIENT_ID=client_id,
            OIDC_CLIENT_SECRET=client_secret,
            OIDC_REDIRECT_URI=redirect_uri,
            OIDC_ACCOUNTS=json.dumps({login: dict(claims) for login, claims in accounts.items()}),
            OIDC_ISSUER_PATH=issuer_path,
        )
        if post_logout_uri is not None:
            env["OIDC_POST_LOGOUT_URI"] = post_logout_uri
        command = [_which("node"), str(OIDC_DIR / "provider.mjs")]
        super().__init__(command, env=env, log_path=log_dir / "oidc-provider.log")

    @property
    def discovery_url(self) -> str:
        return f"{self.issuer.rstrip('/')}/.well-known/openid-configuration"

    def discovery(self) -> dict[str, object]:
        response = httpx.get(self.discovery_url)
        response.raise_for_status()
        document: dict[str, object] = response.json()
        return document

    def launch(self) -> None:
        ensure_installed()
        super().launch()

    def start(self, timeout: float = STARTUP_SECONDS) -> OidcProvider:
        super().start(timeout)
        return self

    def __enter__(self) -> OidcProvider:
        return self.start()

    def wait_ready(self, timeout: float = STARTUP_SECONDS) -> None:
        url = self.discovery_url
        self.wait_for(lambda: http_status(url) == 200, timeout, f"{url} to answer 200")


# -- a user signing in --------------------------------------------------------------------------
class _Page(HTMLParser):
    """The forms (action, fields) and the visible text of an HTML page."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.forms: list[tuple[str, dict[str, str]]] = []
        self._text: list[str] = []
        self._hidden_depth = 0
        self.feed(html)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = {name: value or "" for name, value in attrs}
        if tag in ("script", "style", "head"):
            self._hidden_depth += 1
        elif tag == "form":
            self.forms.append((attributes.get("action", ""), {}))
        elif tag == "input" and self.forms and "name" in attributes:
            self.forms[-1][1][attributes["name"]] = attributes.get("value", "")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style", "head") and self._hidden_depth:
            self._hidden_depth -= 1

    def handle_data(self, data: str) -> None:
        if not self._hidden_depth and data.strip():
            self._text.append(data.strip())

    @property
    def text(self) -> str:
        return " ".join(self._text)

    def login_form(self) -> tuple[str, dict[str, str]] | None:
        return next((form for form in self.forms if "login" in form[1]), None)


def _origin(url: str) -> tuple[str, str]:
    parts = urlsplit(url)
    return parts.scheme, parts.netloc


def _follow(
    client: httpx.Client, response: httpx.Response, origin: tuple[str, str]
) -> httpx.Response | str:
    """Follow `response`'s redirects while they stay on `origin`: the page reached, or the
    first Location that leaves `origin` (not requested)."""
    for _ in range(MAX_REDIRECTS):
        if _submits_itself(response):
            # A page whose script posts its one form at once, as a browser would: the
            # provider ending the previous account's session when another signs in.
            action, fields = _Page(response.text).forms[0]
            target = urljoin(str(response.url), action)
            response = client.post(target, data=fields, follow_redirects=False)
            continue
        if not response.is_redirect:
            return response
        location = urljoin(str(response.url), response.headers["location"])
        if _origin(location) != origin:
            return location
        response = client.get(location, follow_redirects=False)
    raise AssertionError(f"more than {MAX_REDIRECTS} redirects, the last to {response.url}")


def _submits_itself(response: httpx.Response) -> bool:
    if response.status_code != 200 or "forms[0].submit()" not in response.text:
        return False
    forms = _Page(response.text).forms
    return len(forms) == 1 and "login" not in forms[0][1]


def _page_failure(response: httpx.Response, what: str) -> AssertionError:
    return AssertionError(
        f"{what}: {response.status_code} at {response.url}: {_Page(response.text).text}"
    )


def _back_at_relying_party(location: str) -> str:
    query = parse_qs(urlsplit(location).query)
    if "error" in query:
        raise AssertionError(
            f"the provider refused the authorization: {query['error'][0]}: "
            f"{query.get('error_description', [''])[0]} ({location})"
        )
    if "code" not in query:
        raise AssertionError(f"the provider sent the user back without a code: {location}")
    return location


def sign_in(client: httpx.Client, authorize_url: str, login: str) -> str:
    """Sign in as `login` at the provider of `authorize_url`, as a browser would: the login
    form, one submit, consent granted by the provider itself. Returns the redirect back to the
    relying party (redirect_uri with `code`, `state` and `iss`) without requesting it.

    `client` keeps the provider's cookies (every request here is made with
    follow_redirects=False). Raises AssertionError, with the page's text, when no login form
    is shown (an error page; or no page at all, because the client's cookies already hold a
    session), when the form comes back (an unknown login), or when the provider redirects
    back with an error.
    """
    origin = _origin(authorize_url)
    reached = _follow(client, client.get(authorize_url, follow_redirects=False), origin)
    if isinstance(reached, str):
        _back_at_relying_party(reached)  # raises on an error redirect
        raise AssertionError(f"the provider asked for no login (already signed in?): {reached}")
    form = _Page(reached.text).login_form() if reached.status_code == 200 else None
    if form is None:
        raise _page_failure(reached, "no login form")
    action, fields = form
    submitted = client.post(
        urljoin(str(reached.url), action),
        data={**fields, "login": login},
        follow_redirects=False,
    )
    reached = _follow(client, submitted, origin)
    if not isinstance(reached, str):
        raise _page_failure(reached, f"signing in as {login!r} failed")
    return _back_at_relying_party(reached)
