#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// The two-sample Kolmogorov–Smirnov test, two-sided, as `scipy.stats.ks_2samp(a, b)` with `method='auto'`.
///
/// SciPy computes the exact p-value while both samples have at most 10,000 values (Hodges' lattice-path counts),
/// and otherwise the distribution of the one-sample statistic for n = round(mn / (m + n)) (Simard and L'Ecuyer's
/// choice of algorithm); so does this.
public enum KolmogorovSmirnov {
    /// The statistic D and its p-value.
    public struct Result: Sendable, Equatable {
        public var statistic: Double
        public var pValue: Double
    }

    /// Largest sample size for which the exact distribution is used.
    static let exactLimit = 10_000

    /// Tests whether `a` and `b` come from the same distribution. Both must be non-empty and free of NaN.
    public static func twoSample(_ a: [Double], _ b: [Double]) -> Result {
        twoSample(sorted: a.sorted(), b.sorted())
    }

    /// As `twoSample`, for samples already sorted ascending.
    public static func twoSample(sorted a: [Double], _ b: [Double]) -> Result {
        let n1 = a.count
        let n2 = b.count
        precondition(n1 > 0 && n2 > 0, "Kolmogorov–Smirnov needs two non-empty samples")
        // The empirical CDFs differ most at one of the observed values: walk both sorted samples once.
        var i = 0
        var j = 0
        var maxDifference = 0.0
        var minDifference = 0.0
        while i < n1 || j < n2 {
            let value = j == n2 || (i < n1 && a[i] <= b[j]) ? a[i] : b[j]
            while i < n1 && a[i] <= value { i += 1 }
            while j < n2 && b[j] <= value { j += 1 }
            let difference = Double(i) / Double(n1) - Double(j) / Double(n2)
            maxDifference = max(maxDifference, difference)
            minDifference = min(minDifference, difference)
        }
        var d = max(maxDifference, min(-minDifference, 1))
        if max(n1, n2) <= exactLimit {
            let g = gcd(n1, n2)
            let lcm = Double((n1 / g) * n2)
            let h = Int((d * lcm).rounded(.toNearestOrEven))
            d = Double(h) / lcm
            if h == 0 { return Result(statistic: d, pValue: 1) }
            let p = n1 == n2 ? probabilityOutsideSquare(n1, h) : probabilityOutsideInside(n1, n2, g, h)
            if p >= 0 && p <= 1 { return Result(statistic: d, pValue: p) }
        }
        let m = Double(max(n1, n2))
        let n = Double(min(n1, n2))
        let effective = (m * n / (m + n)).rounded(.toNearestOrEven)
        return Result(statistic: d, pValue: min(max(kolmogorovSurvival(Int(effective), d), 0), 1))
    }

    private static func gcd(_ a: Int, _ b: Int) -> Int {
        var (x, y) = (a, b)
        while y != 0 { (x, y) = (y, x % y) }
        return x
    }

    /// P(D ≥ h/n) for two samples of size n (SciPy's `_compute_prob_outside_square`, a Horner-like sum).
    static func probabilityOutsideSquare(_ n: Int, _ h: Int) -> Double {
        var p = 0.0
        var k = Int((Double(n) / Double(h)).rounded(.down))
        while k >= 0 {
            var term = 1.0
            for j in 0..<h {
                term = Double(n - k * h - j) * term / Double(n + k * h + j + 1)
            }
            p = term * (1 - p)
            k -= 1
        }
        return 2 * p
    }

    /// 1 − the share of lattice paths staying strictly inside the band (SciPy's `_compute_outer_prob_inside_method`,
    /// Viehmann's recursion for 1 − p).
    static func probabilityOutsideInside(_ first: Int, _ second: Int, _ g: Int, _ h: Int) -> Double {
        let m = max(first, second)
        let n = min(first, second)
        let mg = m / g
        let ng = n / g
        var minj = 0
        var maxj = min(Int((Double(h) / Double(mg)).rounded(.up)), n + 1)
        var curlen = maxj - minj
        let lenA = min(2 * maxj + 2, n + 1)
        var column = [Double](repeating: 1, count: lenA)
        for index in minj..<maxj { column[index] = 0 }
        for i in 1...m {
            let lastminj = minj
            let lastlen = curlen
            minj = max(Int((Double(ng * i - h) / Double(mg)).rounded(.down)) + 1, 0)
            minj = min(minj, n)
            maxj = min(Int((Double(ng * i + h) / Double(mg)).rounded(.up)), n + 1)
            if maxj <= minj { return 1 }
            var value = minj == 0 ? 0.0 : 1.0
            for jj in 0..<(maxj - minj) {
                let j = jj + minj
                value = (column[jj + minj - lastminj] * Double(i) + value * Double(j)) / Double(i + j)
                column[jj] = value
            }
            curlen = maxj - minj
            if lastlen > curlen {
                for index in curlen..<(curlen + lastlen - curlen) { column[index] = 1 }
            }
        }
        return column[maxj - minj - 1]
    }

    // MARK: The one-sample distribution (scipy.stats.kstwo)

    /// P(D_n ≥ x) for the two-sided one-sample statistic (`scipy.stats.kstwo.sf(x, n)`).
    public static func kolmogorovSurvival(_ n: Int, _ x: Double) -> Double {
        if x >= 1 { return 0 }
        if x <= 0 { return 1 }
        let nd = Double(n)
        let t = nd * x
        if t <= 1 {
            if t <= 0.5 { return 1 }
            let cdf: Double
            if n <= 140 {
                var product = 1.0
                for i in 1...n { product *= Double(i) * (1.0 / nd) * (2 * t - 1) }
                cdf = product
            } else {
                cdf = exp(logFactorialOverPower(nd) + nd * log(2 * t - 1))
            }
            return clip(1 - cdf)
        }
        if t >= nd - 1 { return clip(2 * pow(1 - x, nd)) }
        if x >= 0.5 { return clip(2 * smirnov(n, x)) }
        let nxSquared = t * x
        if n <= 140 {
            // SciPy uses Pomeranz's recursion up to n·x² = 4; the Durbin matrix gives the same exact value.
            if nxSquared <= 4 { return clip(1 - durbinMatrix(n, x)) }
            return clip(2 * smirnov(n, x))
        }
        if nxSquared >= 370 { return 0 }
        if nxSquared >= 2.2 { return clip(2 * smirnov(n, x)) }
        let cdf = n <= 100_000 && nd * pow(x, 1.5) <= 1.4 ? durbinMatrix(n, x) : pelzGood(n, x)
        return clip(1 - cdf)
    }

    private static func clip(_ p: Double) -> Double { min(max(p, 0), 1) }

    /// log(n! / nⁿ) by Stirling's series.
    private static func logFactorialOverPower(_ n: Double) -> Double {
        let coefficients = [
            -2.955065359477124183e-2, 6.4102564102564102564e-3, -1.9175269175269175269e-3,
            8.4175084175084175084e-4, -5.952380952380952381e-4, 7.9365079365079365079e-4,
            -2.7777777777777777778e-3, 8.3333333333333333333e-2,
        ]
        let rn = 1 / n
        let z = rn / n
        let series = coefficients.reduce(0) { $0 * z + $1 }
        return log(n) / 2 - n + log(2 * Double.pi) / 2 + rn * series
    }

    /// The one-sided Smirnov survival P(D⁺_n ≥ x) by the Birnbaum–Tingey sum (`scipy.special.smirnov`).
    static func smirnov(_ n: Int, _ x: Double) -> Double {
        if x <= 0 { return 1 }
        if x >= 1 { return 0 }
        let nd = Double(n)
        let last = Int((nd * (1 - x)).rounded(.down))
        var logBinomial = 0.0
        var sum = 0.0
        for j in 0...last {
            if j > 0 { logBinomial += log(Double(n - j + 1) / Double(j)) }
            let jd = Double(j)
            let low = 1 - x - jd / nd
            let high = x + jd / nd
            guard low > 0 else {
                if n - j == 0 { sum += exp(logBinomial + (jd - 1) * log(high)) }
                continue
            }
            sum += exp(logBinomial + (nd - jd) * log(low) + (jd - 1) * log(high))
        }
        return x * sum
    }

    /// P(D_n ≤ x) by Marsaglia, Tsang and Wang's evaluation of Durbin's matrix formula.
    static func durbinMatrix(_ n: Int, _ d: Double) -> Double {
        let nd = Double(n) * d
        if nd <= 0.5 { return 0 }
        let k = Int(nd.rounded(.up))
        let h = Double(k) - nd
        let m = 2 * k - 1
        var v = (1...m).map { 1 - pow(h, Double($0)) }
        var w = [Double](repeating: 0, count: m)
        var factorial = 1.0
        for j in 1...m {
            w[j - 1] = factorial
            factorial /= Double(j)
            v[j - 1] *= factorial
        }
        let tail = pow(max(2 * h - 1, 0), Double(m)) - 2 * pow(h, Double(m))
        v[m - 1] = (1 + tail) * factorial
        var matrix = [Double](repeating: 0, count: m * m)
        for i in 1..<m {
            for row in (i - 1)..<m { matrix[row * m + i] = w[row - i + 1] }
        }
        for row in 0..<m { matrix[row * m] = v[row] }
        for column in 0..<m { matrix[(m - 1) * m + column] = v[m - 1 - column] }
        let scale = 0x1p128
        var power = [Double](repeating: 0, count: m * m)
        for i in 0..<m { power[i * m + i] = 1 }
        var exponent = 0
        var matrixExponent = 0
        var remaining = n
        while remaining > 0 {
            if remaining % 2 == 1 {
                power = multiply(power, matrix, m)
                exponent += matrixExponent
            }
            matrix = multiply(matrix, matrix, m)
            matrixExponent *= 2
            if abs(matrix[(k - 1) * m + k - 1]) > scale {
                for index in matrix.indices { matrix[index] /= scale }
                matrixExponent += 128
            }
            remaining /= 2
        }
        var p = power[(k - 1) * m + k - 1]
        for i in 1...n {
            p = Double(i) * p / Double(n)
            if abs(p) < 0x1p-128 {
                p *= scale
                exponent -= 128
            }
        }
        if exponent != 0 { p = scalbn(p, exponent) }
        return min(max(p, 0), 1)
    }

    private static func multiply(_ a: [Double], _ b: [Double], _ m: Int) -> [Double] {
        var result = [Double](repeating: 0, count: m * m)
        for i in 0..<m {
            for k in 0..<m {
                let aik = a[i * m + k]
                if aik == 0 { continue }
                for j in 0..<m { result[i * m + j] += aik * b[k * m + j] }
            }
        }
        return result
    }

    /// P(D_n ≤ x) by the Pelz–Good asymptotic series (SciPy's `_kolmogn_PelzGood`).
    static func pelzGood(_ n: Int, _ x: Double) -> Double {
        if x <= 0 { return 0 }
        if x >= 1 { return 1 }
        let pi2 = Double.pi * Double.pi
        let pi4 = pi2 * pi2
        let pi6 = pi4 * pi2
        let sqrt2pi = (2 * Double.pi).squareRoot()
        let z = Double(n).squareRoot() * x
        let z2 = z * z
        let z3 = z2 * z
        let z4 = z2 * z2
        let z6 = z4 * z2
        let qlog = -pi2 / 8 / z2
        if qlog < -708 { return 0 }
        var q = exp(qlog)
        let k1a = -z2
        let k1b = pi2 / 4
        let k2a = 6 * z6 + 2 * z4
        let k2b = (2 * z4 - 5 * z2) * pi2 / 4
        let k2c = pi4 * (1 - 2 * z2) / 16
        let k3d = pi6 * (5 - 30 * z2) / 64
        let k3c = pi4 * (-60 * z2 + 212 * z4) / 16
        let k3b = pi2 * (135 * z4 - 96 * z6) / 4
        let k3a = -30 * z6 - 90 * pow(z, 8)
        var terms = [0.0, 0, 0, 0]
        let maxk = Int((16 * z / Double.pi).rounded(.up))
        for k in stride(from: maxk, to: 0, by: -1) {
            let m = Double(2 * k - 1)
            let m2 = m * m
            let m4 = m2 * m2
            let m6 = m4 * m2
            let qpower = pow(q, Double(8 * k))
            let coefficients = [
                1.0, k1a + k1b * m2, k2a + k2b * m2 + k2c * m4, k3a + k3b * m2 + k3c * m4 + k3d * m6,
            ]
            for index in 0..<4 { terms[index] = terms[index] * qpower + coefficients[index] }
        }
        let divisors = [z, 6 * z4, 72 * pow(z, 7), 6480 * pow(z, 10)]
        for index in 0..<4 { terms[index] = terms[index] * q * sqrt2pi / divisors[index] }
        q = exp(-pi2 / 2 / z2)
        var k2extra = 0.0
        var k3extra = 0.0
        let sqrt3z = 3.0.squareRoot() * z
        for k in stride(from: maxk, to: 0, by: -1) {
            let ksquared = Double(k * k)
            let qpower = pow(q, ksquared)
            k2extra += ksquared * qpower
            let kspi = Double.pi * Double(k)
            k3extra += (sqrt3z + kspi) * (sqrt3z - kspi) * ksquared * qpower
        }
        terms[2] += k2extra * pi2 * sqrt2pi / (-36 * z3)
        terms[3] += k3extra * pi2 * sqrt2pi / (216 * z6)
        var sum = 0.0
        for index in 0..<4 { sum += terms[index] / pow(Double(n), Double(index) / 2) }
        return sum
    }
}
