"""LATENCY GRAPH's ASCII art, as Redis's sparkline.c draws it: four rows of '_o#' bars scaled
between the lowest and highest sample, then each sample's age as a label written downwards."""
import time

GRAPH_COLUMNS = 80  # Redis's LATENCY_GRAPH_COLS
ROWS = 4
FILL = "_o#"
LABEL_MARGIN_TOP = 1


def _age(seconds):
    if seconds < 60:
        return "%ds" % seconds
    if seconds < 3600:
        return "%dm" % (seconds // 60)
    if seconds < 3600 * 24:
        return "%dh" % (seconds // 3600)
    return "%dd" % (seconds // (3600 * 24))


def _render_range(values, labels, low, high):
    """sparklineRenderRange with SPARKLINE_FILL: the bar rows, a blank row, then the labels' rows."""
    span = (high - low) or 1
    steps = len(FILL) * ROWS
    lines = []
    row = 0
    while True:
        chars = [" "] * len(values)
        more = False
        for column, value in enumerate(values):
            if row < ROWS:
                step = min(max(int(int((value - low) * steps) / span), 0), steps - 1)
                index = step - (ROWS - row - 1) * len(FILL)
                more = True
                if 0 <= index < len(FILL):
                    chars[column] = FILL[index]
                elif index >= len(FILL):
                    chars[column] = "|"
            else:
                if row - ROWS < LABEL_MARGIN_TOP:
                    more = True
                    break
                at = row - ROWS - LABEL_MARGIN_TOP
                if len(labels[column]) > at:
                    more = True
                    chars[column] = labels[column][at]
        if not more:
            return lines
        lines.append("".join(chars) + "\n")
        row += 1


def latency_graph(event, series, now=None):
    """The graph of one event's samples (an EventSeries), oldest first, aged from now (Unix seconds)."""
    now = int(time.time()) if now is None else now
    values = [latency for _, latency in series.samples]
    labels = [_age(now - moment) for moment, _ in series.samples]
    low, high = min(values), max(values)
    text = "%s - high %d ms, low %d ms (all time high %d ms)\n" % (event, high, low, series.max)
    text += "-" * GRAPH_COLUMNS + "\n"
    chunks = []
    for start in range(0, len(values), GRAPH_COLUMNS):
        chunks.append("".join(_render_range(values[start:start + GRAPH_COLUMNS], labels[start:start + GRAPH_COLUMNS],
                                            low, high)))
    return text + "\n".join(chunks)
