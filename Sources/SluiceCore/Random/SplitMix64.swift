/// A small, fast, seedable generator (SplitMix64): the same sequence on every platform, so data splits, model
/// training and retry jitter repeat exactly for a given seed.
public struct SplitMix64: RandomNumberGenerator, Sendable {
    /// The step added to the state before each draw.
    @inlinable public static var gamma: UInt64 { 0x9E37_79B9_7F4A_7C15 }

    // Inlinable, as the generator sits in training loops of other targets.
    @usableFromInline var state: UInt64

    @inlinable public init(seed: UInt64) { state = seed }

    @inlinable public mutating func next() -> UInt64 {
        state &+= Self.gamma
        return Self.mix(state)
    }

    /// A uniform double in [0, 1).
    @inlinable public mutating func nextUnit() -> Double { Double(next() >> 11) * 0x1p-53 }

    /// The output function: a bijection of the state, so distinct states give distinct draws. Generators that keep
    /// their state elsewhere (an atomic shared by threads) step it by `gamma` and mix it with this.
    @inlinable public static func mix(_ state: UInt64) -> UInt64 {
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
