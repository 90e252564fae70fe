"""The two sorts Redis's replies depend on when elements tie: glibc's qsort and Redis's pqsort.

glibc 2.36 (Debian 12's) implements qsort as a merge sort, so it is stable;
Redis's pqsort.c (NetBSD's Bentley-McIlroy quicksort, told which positions
are wanted so it skips the parts that hold none of them) is not, and tied
elements come out in the order its partitioning leaves them. Both are
ported step for step, with C's three-way comparator, so that equal elements
end where they end in Redis (GEOSEARCH ... COUNT, SORT ... LIMIT).
"""


def merge_sort(items, compare):
    """glibc's msort: a new list, halves of n // 2 and the rest each sorted, merged taking the left on a tie."""
    if len(items) <= 1:
        return list(items)
    middle = len(items) // 2
    left, right = merge_sort(items[:middle], compare), merge_sort(items[middle:], compare)
    merged, i, j = [], 0, 0
    while i < len(left) and j < len(right):
        if compare(left[i], right[j]) <= 0:
            merged.append(left[i])
            i += 1
        else:
            merged.append(right[j])
            j += 1
    return merged + left[i:] + right[j:]


def pqsort(items, compare, left, right):
    """Sort items in place so that positions left..right hold what a full sort would put there."""
    _pqsort(items, 0, len(items), compare, left, right)


def _median_of_three(items, a, b, c, compare):
    if compare(items[a], items[b]) < 0:
        return b if compare(items[b], items[c]) < 0 else (c if compare(items[a], items[c]) < 0 else a)
    return b if compare(items[b], items[c]) > 0 else (a if compare(items[a], items[c]) < 0 else c)


def _insertion_sort(items, start, count, compare):
    for middle in range(start + 1, start + count):
        low = middle
        while low > start and compare(items[low - 1], items[low]) > 0:
            items[low - 1], items[low] = items[low], items[low - 1]
            low -= 1


def _swap_runs(items, a, b, count):
    for offset in range(count):
        items[a + offset], items[b + offset] = items[b + offset], items[a + offset]


def _pqsort(items, start, count, compare, left, right):
    """_pqsort on items[start:start + count]: recursing on the left part, looping on the right."""
    while True:
        if count < 7:
            _insertion_sort(items, start, count, compare)
            return
        middle = start + count // 2
        if count > 7:
            low, high = start, start + count - 1
            if count > 40:
                step = count // 8
                low = _median_of_three(items, low, low + step, low + 2 * step, compare)
                middle = _median_of_three(items, middle - step, middle, middle + step, compare)
                high = _median_of_three(items, high - 2 * step, high - step, high, compare)
            middle = _median_of_three(items, low, middle, high, compare)
        items[start], items[middle] = items[middle], items[start]
        pivot = items[start]
        pa = pb = start + 1
        pc = pd = start + count - 1
        swapped = False
        while True:
            while pb <= pc:
                result = compare(items[pb], pivot)
                if result > 0:
                    break
                if result == 0:
                    swapped = True
                    items[pa], items[pb] = items[pb], items[pa]
                    pa += 1
                pb += 1
            while pb <= pc:
                result = compare(items[pc], pivot)
                if result < 0:
                    break
                if result == 0:
                    swapped = True
                    items[pc], items[pd] = items[pd], items[pc]
                    pd -= 1
                pc -= 1
            if pb > pc:
                break
            items[pb], items[pc] = items[pc], items[pb]
            swapped = True
            pb += 1
            pc -= 1
        if not swapped:  # already partitioned: Bentley-McIlroy finish with an insertion sort
            _insertion_sort(items, start, count, compare)
            return
        end = start + count
        run = min(pa - start, pb - pa)
        _swap_runs(items, start, pb - run, run)
        run = min(pd - pc, end - pd - 1)
        _swap_runs(items, pb, end - run, run)
        run = pb - pa
        if run > 1 and not _misses(start, start + run - 1, left, right):
            _pqsort(items, start, run, compare, left, right)
        run = pd - pc
        if run <= 1:
            return
        start, count = end - run, run
        if _misses(start, start + run - 1, left, right):
            return


def _misses(first, last, left, right):
    """Whether the wanted positions [left, right] all lie before or after [first, last]."""
    return (left < first and right < first) or (left > last and right > last)
