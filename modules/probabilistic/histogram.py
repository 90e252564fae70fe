"""The merging t-digest of RedisBloom's t-digest-c (tdigest.c), operation for operation.

Values arrive as unit-weight centroids in a buffer; when the buffer (6 * compression + 10 nodes)
is nearly full, or before any read, compress() sorts every centroid by mean and merges neighbours
while the merged weight stays under the k-scale bound (compression / (2 pi W ln W) against
q (1 - q) at both ends). Reads interpolate between centroids, treating a weight-1 centroid as a
point and one sample as sitting exactly at the minimum and at the maximum. Floating-point steps
follow the C (doubles, its int64 weights, IEEE division by zero) so answers equal RedisBloom's;
its sort is not stable and Python's is, which can differ only among centroids with equal means
and different weights (merged digests).
"""
import math

DBL_MAX = 1.7976931348623157e308
INT_MAX = 2**31 - 1
LLONG_MAX = 2**63 - 1
NAN = float("nan")
INFINITY = float("inf")


def capacity_for(compression):
    """cap_from_compression: the node arrays' size."""
    return 6 * int(compression) + 10


def divide(numerator, denominator):
    """C's double division: a zero denominator gives a signed infinity, or NaN for 0/0."""
    try:
        return numerator / denominator
    except ZeroDivisionError:
        if numerator == 0 or numerator != numerator:
            return NAN
        negative = (numerator < 0) != (math.copysign(1.0, denominator) < 0)
        return -INFINITY if negative else INFINITY


def _weighted_average(x1, w1, x2, w2):
    """weighted_average: between x1 and x2 by weight, clamped to them (C's ternary min and max)."""
    if not x1 <= x2:
        x1, w1, x2, w2 = x2, w2, x1, w1
    average = divide(x1 * w1 + x2 * w2, w1 + w2)
    low = average if average < x2 else x2
    return x1 if x1 > low else low


class TDigest:
    """td_histogram_t: compression, capacity, min and max, and the centroids (merged ones first,
    then the buffered unmerged ones) as parallel lists of means and int weights."""

    __slots__ = ("compression", "capacity", "minimum", "maximum", "means", "weights", "merged_nodes",
                 "unmerged_nodes", "merged_weight", "unmerged_weight", "total_compressions")

    def __init__(self, compression):
        self.compression = float(compression)
        self.capacity = capacity_for(compression)
        self.reset()

    @staticmethod
    def valid_compression(compression):
        """What td_init accepts: a finite positive compression whose capacity fits a C int."""
        return 0 < compression <= INT_MAX and capacity_for(compression) <= INT_MAX

    def reset(self):
        self.minimum, self.maximum = DBL_MAX, -DBL_MAX
        self.means, self.weights = [], []
        self.merged_nodes = self.unmerged_nodes = 0
        self.merged_weight = self.unmerged_weight = 0
        self.total_compressions = 0

    def size(self):
        return self.merged_weight + self.unmerged_weight

    def add(self, mean, weight=1):
        """td_add: buffers one centroid; False (EDOM, EINVAL) for a non-finite mean, a full buffer or a
        total weight past int64."""
        if not math.isfinite(mean):
            return False
        if self.merged_nodes + self.unmerged_nodes >= self.capacity - 1:
            self.compress()
        if self.merged_nodes + self.unmerged_nodes >= self.capacity:
            return False
        unmerged_weight = self.unmerged_weight + weight
        if unmerged_weight > LLONG_MAX or unmerged_weight + self.merged_weight > LLONG_MAX:
            return False
        if mean < self.minimum:
            self.minimum = mean
        if mean > self.maximum:
            self.maximum = mean
        self.means.append(mean)
        self.weights.append(weight)
        self.unmerged_nodes += 1
        self.unmerged_weight = unmerged_weight
        return True

    def compress(self):
        """td_compress: sorts every centroid by mean and merges neighbours within the k-scale bound."""
        if self.unmerged_nodes == 0:
            return
        order = sorted(range(len(self.means)), key=self.means.__getitem__)
        means = [self.means[index] for index in order]
        weights = [self.weights[index] for index in order]
        total = float(self.merged_weight) + float(self.unmerged_weight)
        if total > 1:
            normalizer = self.compression / (2 * math.pi * total * math.log(total))
            current, weight_so_far = 0, 0.0
            for index in range(1, len(means)):
                proposed = float(weights[current]) + float(weights[index])
                z = proposed * normalizer
                q0 = weight_so_far / total
                q2 = (weight_so_far + proposed) / total
                if z <= q0 * (1 - q0) and z <= q2 * (1 - q2):
                    weights[current] += weights[index]
                    means[current] += (means[index] - means[current]) * weights[index] / weights[current]
                else:
                    weight_so_far += weights[current]
                    current += 1
                    weights[current], means[current] = weights[index], means[index]
            del means[current + 1:], weights[current + 1:]
        self.means, self.weights = means, weights
        self.merged_nodes = len(means)
        self.merged_weight = int(total)
        self.unmerged_nodes = self.unmerged_weight = 0
        self.total_compressions += 1

    def merge(self, other):
        """td_merge: adds other's centroids (both compressed first) to self."""
        self.compress()
        other.compress()
        return all(self.add(mean, weight) for mean, weight in zip(list(other.means), list(other.weights)))

    def cdf(self, value):
        """td_cdf: the fraction of the weight below value, plus half the weight at it."""
        self.compress()
        count = self.merged_nodes
        if count == 0:
            return NAN
        if value < self.minimum:
            return 0.0
        if value > self.maximum:
            return 1.0
        means, weights, total = self.means, self.weights, float(self.merged_weight)
        if count == 1:
            width = self.maximum - self.minimum
            return 0.5 if value - self.minimum <= width else (value - self.minimum) / width
        if value < means[0]:
            width = means[0] - self.minimum
            if width <= 0:
                return 0.0
            if value == self.minimum:
                return 0.5 / total
            return (1 + (value - self.minimum) / width * (weights[0] / 2 - 1)) / total
        if value > means[-1]:
            width = self.maximum - means[-1]
            if width <= 0:
                return 1.0
            if value == self.maximum:
                return 1 - 0.5 / total
            return 1 - (1 + (self.maximum - value) / width * (weights[-1] / 2 - 1)) / total
        return self._cdf_inside(value, total)

    def _cdf_inside(self, value, total):
        """td_cdf between the first and the last centroid's means."""
        means, weights, count = self.means, self.weights, self.merged_nodes
        weight_so_far = 0.0
        index = 0
        while index < count - 1:
            if means[index] == value:
                at_value = 0.0
                while index < count and means[index] == value:
                    at_value += weights[index]
                    index += 1
                return (weight_so_far + at_value / 2) / total
            if means[index] <= value < means[index + 1]:
                left, right = float(weights[index]), float(weights[index + 1])
                half_sum = (left + right) / 2
                if means[index + 1] - means[index] <= 0:
                    return (weight_so_far + half_sum) / total
                left_excluded = right_excluded = 0.0
                if left == 1:
                    if right == 1:
                        return (weight_so_far + 1) / total
                    left_excluded = 0.5
                elif right == 1:
                    right_excluded = 0.5
                base = weight_so_far + left / 2 + left_excluded
                interpolated = ((half_sum - left_excluded - right_excluded) * (value - means[index]) /
                                (means[index + 1] - means[index]))
                return (base + interpolated) / total
            weight_so_far += weights[index]
            index += 1
        return 1 - 0.5 / total

    def _value_at(self, index, cursor):
        """td_internal_iterate_centroids_to_index: the value at this many weights from the left;
        cursor ([weight so far, centroid]) carries on between ascending indexes, as td_quantiles's does."""
        means, weights, total = self.means, self.weights, self.merged_weight
        left = float(weights[0])
        if left > 1 and index < left / 2:
            return self.minimum + divide(index - 1, left / 2 - 1) * (means[0] - self.minimum)
        if index > total - 1:
            return self.maximum
        right, right_mean = float(weights[-1]), means[-1]
        if right > 1 and total - index <= right / 2:
            return self.maximum - divide(total - index - 1, right / 2 - 1) * (self.maximum - right_mean)
        while cursor[1] < self.merged_nodes - 1:
            position = cursor[1]
            weight, next_weight = float(weights[position]), float(weights[position + 1])
            half_sum = (weight + next_weight) / 2
            weight_so_far = cursor[0]
            if weight_so_far + half_sum > index:
                left_unit = right_unit = 0.0
                if weight == 1:
                    if index - weight_so_far < 0.5:
                        return means[position]
                    left_unit = 0.5
                if next_weight == 1:
                    if weight_so_far + half_sum - index <= 0.5:
                        return means[position + 1]
                    right_unit = 0.5
                z1 = index - weight_so_far - left_unit
                z2 = weight_so_far + half_sum - index - right_unit
                return _weighted_average(means[position], z2, means[position + 1], z1)
            cursor[0] += half_sum
            cursor[1] += 1
        z1 = index - total - right / 2.0
        z2 = right / 2 - z1
        return _weighted_average(right_mean, z1, self.maximum, z2)

    def quantile(self, fraction):
        """td_quantile: the value below which this fraction of the weight lies."""
        self.compress()
        if fraction < 0 or fraction > 1 or self.merged_nodes == 0:
            return NAN
        if self.merged_nodes == 1:
            return self.means[0]
        index = fraction * float(self.merged_weight)
        if index < 1:
            return self.minimum
        return self._value_at(index, [self.weights[0] / 2, 0])

    def quantiles(self, fractions):
        """td_quantiles: an ascending run of fractions in one pass (no min shortcut below index 1)."""
        self.compress()
        if self.merged_nodes == 0:
            return [NAN] * len(fractions)
        if self.merged_nodes == 1:
            return [NAN if fraction < 0 or fraction > 1 else self.means[0] for fraction in fractions]
        cursor = [self.weights[0] / 2, 0]
        return [self._value_at(fraction * float(self.merged_weight), cursor) for fraction in fractions]

    def trimmed_mean(self, low, high):
        """td_trimmed_mean: the mean of the weight between the low and high fractions."""
        self.compress()
        if self.merged_nodes == 0 or not (0 <= low <= 1 and 0 <= high <= 1):
            return NAN
        if self.merged_nodes == 1:
            return self.means[0]
        leftmost = math.floor(float(self.merged_weight) * low)
        rightmost = math.ceil(float(self.merged_weight) * high)
        done = total = counted = 0.0
        for mean, weight in zip(self.means, self.weights):
            taken = weight - min(max(0, leftmost - done), weight)
            taken = min(max(0, rightmost - done), taken)
            done += weight
            total += mean * taken
            counted += taken
            if done >= rightmost:
                break
        return divide(total, counted)

    def copy(self):
        clone = TDigest.__new__(TDigest)
        for name in TDigest.__slots__:
            setattr(clone, name, getattr(self, name))
        clone.means, clone.weights = list(self.means), list(self.weights)
        return clone
