#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// The special functions behind the drift tests' p-values, following SciPy's (Cephes) definitions.
public enum SpecialFunctions {
    /// The standard normal CDF, as `scipy.special.ndtr`: `erf` near zero, `erfc` in the tails.
    public static func normalCDF(_ x: Double) -> Double {
        let scaled = x * 0.5.squareRoot()
        if abs(scaled) < 0.5.squareRoot() { return 0.5 + 0.5 * erf(scaled) }
        let tail = 0.5 * erfc(abs(scaled))
        return scaled > 0 ? 1 - tail : tail
    }

    /// The regularized upper incomplete gamma function Q(a, x) (`scipy.special.gammaincc`).
    public static func upperRegularizedGamma(_ a: Double, _ x: Double) -> Double {
        if x.isNaN || a.isNaN || a <= 0 || x < 0 { return .nan }
        if x == 0 { return 1 }
        if x.isInfinite { return 0 }
        if x < a + 1 { return 1 - lowerSeries(a, x) }
        return upperContinuedFraction(a, x)
    }

    /// χ² survival function with `degrees` degrees of freedom (`scipy.stats.chi2.sf`).
    public static func chiSquareSurvival(_ statistic: Double, degrees: Double) -> Double {
        upperRegularizedGamma(degrees / 2, statistic / 2)
    }

    /// P(a, x) by its power series, for x < a + 1.
    private static func lowerSeries(_ a: Double, _ x: Double) -> Double {
        var term = 1 / a
        var sum = term
        var denominator = a
        for _ in 0..<100_000 {
            denominator += 1
            term *= x / denominator
            sum += term
            if abs(term) <= abs(sum) * Double.ulpOfOne { break }
        }
        return sum * exp(-x + a * log(x) - lgamma(a))
    }

    /// Q(a, x) by Lentz's continued fraction, for x ≥ a + 1.
    private static func upperContinuedFraction(_ a: Double, _ x: Double) -> Double {
        let tiny = 1e-300
        var b = x + 1 - a
        var c = 1 / tiny
        var d = 1 / b
        var h = d
        for i in 1..<100_000 {
            let an = -Double(i) * (Double(i) - a)
            b += 2
            d = an * d + b
            if abs(d) < tiny { d = tiny }
            c = b + an / c
            if abs(c) < tiny { c = tiny }
            d = 1 / d
            let delta = d * c
            h *= delta
            if abs(delta - 1) <= Double.ulpOfOne { break }
        }
        return exp(-x + a * log(x) - lgamma(a)) * h
    }
}
