"""What the cron does for the clients, as Redis's clientsCron and serverCron: the tick rate dynamic-hz
sets for their number, the idle ones closed after timeout, and the buffer figures INFO reports."""
import logging

MAX_CLIENTS_PER_CLOCK_TICK = 200  # Redis's: dynamic-hz raises hz above this many clients per tick
MAX_HZ = 500  # CONFIG_MAX_HZ

log = logging.getLogger("mini-redis")


def effective_hz(config, clients):
    """hz, doubled (up to 500) while each tick would serve more than 200 clients, with dynamic-hz as
    Redis's serverCron adapts it (INFO's hz; configured_hz is the setting)."""
    hz = config["hz"]
    if config["dynamic-hz"]:
        while clients // hz > MAX_CLIENTS_PER_CLOCK_TICK:
            hz = min(hz * 2, MAX_HZ)
            if hz == MAX_HZ:
                break
    return hz


def track_buffers(sessions, stats, now):
    """INFO's client_recent_max_*_buffer (the largest query and output buffers of this second) and
    mem_clients_normal (the tot-mem of every client but the replicas, whose buffers Redis counts
    apart: mem_clients_slaves), sampled each second as Redis's clientsCron does."""
    largest_input = largest_output = clients_memory = 0
    for session in sessions:
        _, _, (qbuf, _, _, obl, _, omem, _), total = session.buffers()
        largest_input, largest_output = max(largest_input, qbuf), max(largest_output, obl + omem)
        if not session.is_replica():
            clients_memory += total
    stats.track_buffers(int(now), largest_input, largest_output)
    stats.clients_memory = clients_memory


def close_idle_clients(connections, timeout, now):
    """timeout: close the clients idle longer than that, as Redis's clientsCron; masters and replicas,
    subscribers and blocked clients may wait as long as they like."""
    if not timeout:
        return
    for connection in list(connections):
        session = connection.session
        if session.master_client or session.is_replica() or connection.blocked or session.subscribed():
            continue
        if now - session.last_active > timeout:
            log.debug("Closing idle client id=%d addr=%s", session.id, session.address)
            connection.close()
