"""What a yt-dlp failure means: a class, whether a later run can succeed, and what the user can do.

yt-dlp reports YouTube's refusals as text (YouTube's own reason, plus yt-dlp's hints for its command line),
and the JavaScript-challenge trouble only as warnings printed before the error that follows from it
("Requested format is not available"). So a failure is classified from the error message, the warnings of
the same attempt, the underlying exception (HTTP status, transport error, geo restriction) and whether
the challenge solver is installed. The recorded messages of every class are in tests/fixtures/ytdlp/.

Permanent classes go to the ledger (the advice says when forgetting the entry is worth it); transient ones
are tried again by a later run, and within this run only where waiting can help (``retry_now``).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from avsep.download.jsruntime import INSTALL
from avsep.download.pacing import retry_after_s

FORGET = "then delete its entry from the ledger (failures.json) to try again"


@dataclass(frozen=True)
class FailureClass:
    name: str
    permanent: bool
    advice: str
    pattern: re.Pattern[str] | None = None  # on the error message (and on the warnings, for js_challenge)
    retry_now: bool = True  # False: transient, but no wait within this run can help


def _words(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern, re.IGNORECASE)


JS_CHALLENGE = FailureClass(
    "js_challenge",
    False,
    f"YouTube's JavaScript challenges were not solved: install the solver ({INSTALL}); a later run retries",
    _words(
        r"n challenge solving failed|signature solving failed|no supported javascript runtime|"
        r"no usable challenge solver|challenge solver script|js challenge"
    ),
    retry_now=False,
)
FORMATS_WITHHELD = FailureClass(
    "formats_withheld",
    False,
    "YouTube withheld this client's formats (SABR streaming, a missing PO token): update yt-dlp; "
    "download.cookies_file can help; a later run retries",
    _words(r"po token which was not provided|formats have been skipped|sabr"),
    retry_now=False,
)
BOT_CHECK = FailureClass(
    "bot_check",
    False,
    "YouTube wants proof this is not a bot: set download.cookies_file to a cookies.txt exported from a "
    "logged-in browser session and raise download.sleep_s; a later run retries",
    _words(r"not a bot|captcha"),
    retry_now=False,
)
SESSION_RATE_LIMITED = FailureClass(
    "session_rate_limited",
    False,
    "YouTube rate-limited this session for up to an hour: raise download.sleep_s and download.jitter_s; "
    "a later run retries",
    _words(r"rate-limited by youtube|try again later"),
    retry_now=False,
)
RATE_LIMITED = FailureClass(
    "rate_limited",
    False,
    "too many requests (HTTP 429): waits the server's Retry-After (at most download.retry_after_max_s) or the "
    "backoff; raise download.sleep_s or lower download.rate_limit; a later run retries",
    _words(r"http error 429|too many requests"),
)
PRIVATE = FailureClass(
    "private",
    True,
    f"private video: nothing to do, unless your account was granted access (set download.cookies_file, {FORGET})",
    _words(r"private video|this video is private"),
)
REGION_BLOCKED = FailureClass(
    "region_blocked",
    True,
    f"blocked in this machine's country: download from a country where it is allowed (proxy or another "
    f"machine), {FORGET}",
    _words(r"in your country|from your location|geo.?restrict"),
)
COPYRIGHT = FailureClass(
    "copyright",
    True,
    "taken down on copyright grounds: nothing to do",
    _words(r"copyright"),
)
AGE_RESTRICTED = FailureClass(
    "age_restricted",
    True,
    f"age-restricted: set download.cookies_file from an age-verified account, {FORGET}",
    _words(r"confirm your age|age.?restricted|inappropriate for some users"),
)
MEMBERS_ONLY = FailureClass(
    "members_only",
    True,
    f"members-only: set download.cookies_file from an account that is a member of the channel, {FORGET}",
    _words(r"members.?only|join this channel|this channel's members"),
)
NOT_STARTED = FailureClass(
    "not_started",
    False,
    "a premiere or live stream that has not started: a later run retries once it has aired",
    _words(r"premieres? in|premiere will begin|live event will begin|will begin in|not started yet"),
    retry_now=False,
)
REMOVED = FailureClass(
    "removed",
    True,
    "the video is gone (removed, unavailable, its account terminated): nothing to do",
    _words(
        r"video unavailable|has been removed|no longer available|account .* terminated|"
        r"this video does not exist|this video is not available|this video is unavailable"
    ),
)
DRM = FailureClass("drm", True, "DRM protected: nothing to do", _words(r"drm protected"))
LOGIN_REQUIRED = FailureClass(
    "login_required",
    True,
    f"only for signed-in users: set download.cookies_file, {FORGET}",
    _words(r"sign in|login details are needed|registered users"),
)
UNSUPPORTED = FailureClass(
    "unsupported",
    True,
    "not a video yt-dlp can fetch: fix the URI in the index",
    _words(r"unsupported url|incomplete youtube id|is not a valid url"),
)
NO_FORMATS = FailureClass(
    "no_formats",
    True,
    f"no downloadable format although the challenge solver ran: update yt-dlp and yt-dlp-ejs, {FORGET}",
    _words(r"requested format is not available"),
)
FORBIDDEN = FailureClass(
    "forbidden",
    False,
    "HTTP 403 from YouTube (throttling, an expired media URL or a missing PO token): a later run retries; "
    "download.cookies_file and download.sleep_s help",
    _words(r"http error 403"),
)
NOT_FOUND = FailureClass("not_found", True, "gone from the server (HTTP 404/410): nothing to do")
CLIENT_ERROR = FailureClass("client_error", True, "the server refused the request (HTTP 4xx): nothing to do")
SERVER_ERROR = FailureClass(
    "server_error", False, "server error (HTTP 5xx): retried; a later run retries", _words(r"http error 5\d\d")
)
NETWORK = FailureClass(
    "network",
    False,
    "network trouble (timeout, reset, refused): retried; a later run retries",
    _words(
        r"timed out|timeout|connection (reset|refused|aborted)|remote end closed|temporary failure|"
        r"incomplete read|network is unreachable|a network error has occurred|bytes read, \d+ more expected|"
        r"content too short|did not get any data"
    ),
)
UNKNOWN = FailureClass(
    "unknown",
    False,
    "a yt-dlp message avsep does not know: a later run retries; update yt-dlp if it persists",
)

# First match wins: a bot check also says "Sign in", a region block may mention copyright, a removed
# video's reason starts "Video unavailable" like a private or blocked one's.
BY_MESSAGE: tuple[FailureClass, ...] = (
    JS_CHALLENGE,
    BOT_CHECK,
    SESSION_RATE_LIMITED,
    RATE_LIMITED,
    PRIVATE,
    REGION_BLOCKED,
    COPYRIGHT,
    AGE_RESTRICTED,
    MEMBERS_ONLY,
    NOT_STARTED,
    DRM,
    REMOVED,
    LOGIN_REQUIRED,
    UNSUPPORTED,
    FORBIDDEN,
    SERVER_ERROR,
    NETWORK,
)
CLASSES: tuple[FailureClass, ...] = (
    *BY_MESSAGE,
    FORMATS_WITHHELD,
    NO_FORMATS,
    NOT_FOUND,
    CLIENT_ERROR,
    UNKNOWN,
)

# yt-dlp's hints are about its own command line (--cookies, --list-formats, a VPN): cut from the reason,
# the class's advice says what to do in avsep's terms.
_HINTS = re.compile(
    r"\s*(Use --|See  http|Also see  http|You might want to use a VPN|It is recommended to use `-t sleep`|"
    r"Ensure you have a supported JavaScript runtime).*",
    re.DOTALL,
)


@dataclass(frozen=True)
class Classified:
    failure: FailureClass
    reason: str  # YouTube's / yt-dlp's words, without the "ERROR:" prefix and yt-dlp's command-line hints
    retry_after_s: float | None = None


def reason_of(message: str) -> str:
    text = re.sub(r"^(ERROR|WARNING):\s*", "", message.strip())
    text = _HINTS.sub("", text)
    return " ".join(text.split()).rstrip(" .") or message.strip()


def classify(
    message: str,
    warnings: Sequence[str] = (),
    *,
    solver_ready: bool = True,
    http_status: int | None = None,
    retry_after: str | None = None,
    transport_error: bool = False,
    geo_restricted: bool = False,
) -> Classified:
    """The class of a yt-dlp failure.

    ``message``: the error as yt-dlp printed it; ``warnings``: what it warned during the same attempt;
    ``solver_ready``: deno and yt-dlp-ejs are installed (:func:`avsep.download.jsruntime.missing` is None);
    ``http_status``/``retry_after``/``transport_error``/``geo_restricted``: from the exception behind it.
    """
    reason = reason_of(message)
    if geo_restricted:
        return Classified(REGION_BLOCKED, reason)
    if http_status is not None:
        return Classified(_by_status(http_status), reason, retry_after_s(retry_after) if http_status == 429 else None)
    if transport_error:
        return Classified(NETWORK, reason)
    if NO_FORMATS.pattern and NO_FORMATS.pattern.search(message):
        # The format spec accepts any format at all (".../w"), so "no format" means none was extracted:
        # the challenges failed, YouTube withheld them, or the video really offers none.
        if not solver_ready or any(JS_CHALLENGE.pattern.search(w) for w in warnings if JS_CHALLENGE.pattern):
            return Classified(JS_CHALLENGE, reason)
        if any(FORMATS_WITHHELD.pattern.search(w) for w in warnings if FORMATS_WITHHELD.pattern):
            return Classified(FORMATS_WITHHELD, reason)
        return Classified(NO_FORMATS, reason)
    for failure in BY_MESSAGE:
        if failure.pattern is not None and failure.pattern.search(message):
            return Classified(failure, reason)
    match = re.search(r"http error (\d{3})", message, re.IGNORECASE)
    if match:
        return Classified(_by_status(int(match[1])), reason)
    return Classified(UNKNOWN, reason)


def _by_status(status: int) -> FailureClass:
    if status == 429:
        return RATE_LIMITED
    if status == 403:
        return FORBIDDEN
    if status in (404, 410):
        return NOT_FOUND
    if status == 408 or status >= 500:
        return SERVER_ERROR if status >= 500 else NETWORK
    return CLIENT_ERROR if 400 <= status < 500 else UNKNOWN
