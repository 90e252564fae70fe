"""CLIENT TRACKING, CACHING, GETREDIR and TRACKINGINFO: client-side caching's commands, as networking.c
checks them (the table and the invalidations are serving/tracking.py's). commands/client.py lists them
among CLIENT's subcommands."""
from commands import Command
from errors import (CACHING_NEEDS_OPTIN_OPTOUT, CACHING_NO_NEEDS_OPTOUT, CACHING_YES_NEEDS_OPTIN, OPTIN_OPTOUT_BCAST,
                    OPTIN_WITH_OPTOUT, PREFIX_NEEDS_BCAST, REDIRECT_MISSING, SINGLE_REDIRECT, SWITCH_BCAST,
                    SWITCH_OPTIN_OPTOUT, SYNTAX, ReplyError, prefix_overlap)
from protocol import Error, Frames, SetReply
from storage.numeric import to_int

_OPTION_WORDS = {b"bcast": "bcast", b"optin": "optin", b"optout": "optout", b"noloop": "noloop"}


def _tracking_options(session, words):
    """CLIENT TRACKING's options after ON|OFF: (redirect id, set of option names, prefixes)."""
    redirect, options, prefixes = 0, set(), []
    index = 0
    while index < len(words):
        word, more = words[index].lower(), index + 1 < len(words)
        if word == b"redirect" and more:
            index += 1
            if redirect:
                raise ReplyError(SINGLE_REDIRECT)
            redirect = to_int(words[index])
            if redirect not in session.server.sessions:
                raise ReplyError(REDIRECT_MISSING)
        elif word in _OPTION_WORDS:
            options.add(_OPTION_WORDS[word])
        elif word == b"prefix" and more:
            index += 1
            prefixes.append(words[index])
        else:
            raise ReplyError(SYNTAX)
        index += 1
    return redirect, options, prefixes


def _check_modes(state, options, prefixes):
    """ON's checks, in Redis's order, of the options against each other and against tracking already on."""
    if prefixes and "bcast" not in options:
        raise ReplyError(PREFIX_NEEDS_BCAST)
    if state is not None and state.bcast != ("bcast" in options):
        raise ReplyError(SWITCH_BCAST)
    if "bcast" in options and {"optin", "optout"} & options:
        raise ReplyError(OPTIN_OPTOUT_BCAST)
    if {"optin", "optout"} <= options:
        raise ReplyError(OPTIN_WITH_OPTOUT)
    if state is not None and (("optin" in options and state.optout) or ("optout" in options and state.optin)):
        raise ReplyError(SWITCH_OPTIN_OPTOUT)


def _overlap(state, prefixes):
    """Redis's checkPrefixCollisionsOrReply: (the error, whether tracking is enabled all the same). Redis 7.0.15
    returns the clashing prefix's index where it means "failed", so a clash found for any prefix but the first
    within the new ones is answered with the error and then with OK, and tracking goes on: so here too."""
    existing = sorted(state.prefixes) if state is not None else []
    for index, prefix in enumerate(prefixes):
        for old in existing:
            if old.startswith(prefix) or prefix.startswith(old):
                return prefix_overlap(prefix, old, existing=True), False
        for other in prefixes[index + 1:]:
            if other.startswith(prefix) or prefix.startswith(other):
                return prefix_overlap(prefix, other, existing=False), index > 0
    return None, True


def client_tracking(session, switch, *words):
    """CLIENT TRACKING ON|OFF [REDIRECT client-id] [PREFIX prefix [PREFIX prefix ...]] [BCAST] [OPTIN] [OPTOUT] [NOLOOP]"""
    redirect, options, prefixes = _tracking_options(session, words)
    tracking = session.server.tracking
    switch = switch.lower()
    if switch == b"off":
        tracking.disable(session)
        return "OK"
    if switch != b"on":
        raise ReplyError(SYNTAX)
    _check_modes(session.tracking, options, prefixes)
    error, enable = _overlap(session.tracking, prefixes)
    if not enable:
        raise error
    tracking.enable(session, redirect, options, prefixes)
    return "OK" if error is None else Frames([Error(error.message), "OK"])


def client_caching(session, mode):
    """CLIENT CACHING YES|NO"""
    state = session.tracking
    if state is None:
        raise ReplyError(CACHING_NEEDS_OPTIN_OPTOUT)
    mode = mode.lower()
    if mode == b"yes":
        if not state.optin:
            raise ReplyError(CACHING_YES_NEEDS_OPTIN)
    elif mode == b"no":
        if not state.optout:
            raise ReplyError(CACHING_NO_NEEDS_OPTOUT)
    else:
        raise ReplyError(SYNTAX)
    state.caching = True
    return "OK"


def client_getredir(session):
    """CLIENT GETREDIR"""
    return -1 if session.tracking is None else session.tracking.redirect


def client_trackinginfo(session):
    """CLIENT TRACKINGINFO"""
    state = session.tracking
    if state is None:
        return {b"flags": SetReply([b"off"]), b"redirect": -1, b"prefixes": []}
    return {b"flags": SetReply(state.flags()), b"redirect": state.redirect, b"prefixes": sorted(state.prefixes)}


_FLAGS = ("noscript", "loading", "stale")
SUBCOMMANDS = (
    Command("tracking", client_tracking, -3, _FLAGS, 0, 0, 0),
    Command("caching", client_caching, 3, _FLAGS, 0, 0, 0),
    Command("getredir", client_getredir, 2, _FLAGS, 0, 0, 0),
    Command("trackinginfo", client_trackinginfo, 2, _FLAGS, 0, 0, 0),
)
