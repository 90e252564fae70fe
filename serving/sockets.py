"""The sockets the server listens and talks on: TCP listeners per bind address, the Unix socket,
keepalive probes, and addresses written as Redis writes them."""
import errno
import logging
import os
import socket

import gevent.socket

log = logging.getLogger("mini-redis")


def address_text(address):
    """ip:port as Redis shows it, an IPv6 address in brackets: [::1]:6379."""
    host, port = address[:2]
    return ("[%s]:%d" if ":" in host else "%s:%d") % (host, port)


def keep_alive(sock, interval):
    """tcp-keepalive as Redis's anetKeepAlive sets it: probes after interval seconds idle, then every third of it."""
    if interval > 0:
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE, interval)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPINTVL, max(interval // 3, 1))
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPCNT, 3)
        except OSError:
            pass  # an interval past the kernel's limit: the connection is served without probes, as in Redis


def listen_tcp(address, port, backlog):
    """A listening socket on one bind address ('*' is every IPv4 one, '::*' every IPv6 one).

    A leading '-' makes the address optional, as in Redis's default 'bind * -::*': None if it is
    not available here.
    """
    optional = address.startswith("-")
    host = address.lstrip("-")
    host = {"*": "0.0.0.0", "::*": "::"}.get(host, host)
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = gevent.socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if family == socket.AF_INET6:
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)  # '::' must not take IPv4 too
        sock.bind((host, port))
        sock.listen(backlog)
    except OSError as error:
        sock.close()
        if optional and error.errno in (errno.EADDRNOTAVAIL, errno.EAFNOSUPPORT, errno.EPROTONOSUPPORT):
            log.warning("Could not create server TCP listening socket %s:%d: %s", host, port, error.strerror)
            return None
        raise
    return sock


def listen_unix(path, permissions, backlog):
    """unixsocket: a listening Unix socket at path (an old one there is replaced), chmod unixsocketperm if set."""
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
    sock = gevent.socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.bind(path)
        if permissions:
            os.chmod(path, permissions)
        sock.listen(backlog)
    except OSError:
        sock.close()
        raise
    return sock
