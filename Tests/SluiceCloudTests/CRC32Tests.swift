import Testing

@testable import SluiceCloud

/// The eight-bytes-a-step, four-lane CRC-32 against the standard check value and a bit-at-a-time reference.
@Suite struct CRC32Tests {
    /// CRC-32 one bit at a time, straight from the definition.
    static func reference(_ bytes: ArraySlice<UInt8>) -> UInt32 {
        var crc: UInt32 = 0xffff_ffff
        for byte in bytes {
            crc ^= UInt32(byte)
            for _ in 0..<8 { crc = (crc >> 1) ^ (0xedb8_8320 & (0 &- (crc & 1))) }
        }
        return ~crc
    }

    @Test func theCheckValueAndItsBase64() {
        #expect(CRC32.checksum(Array("123456789".utf8)) == 0xcbf4_3926)
        #expect(CRC32.base64(0xcbf4_3926) == "y/Q5Jg==")
        #expect(CRC32.checksum([]) == 0)
    }

    @Test func everyLengthAndOffsetAgreesWithTheReference() {
        var generator = SystemRandomNumberGenerator()
        let bytes = (0..<300).map { _ in UInt8.random(in: 0...255, using: &generator) }
        for start in 0..<9 {
            for end in start...bytes.count {
                let slice = bytes[start..<end]
                let fast = slice.withUnsafeBytes { CRC32.checksum($0) }
                #expect(fast == Self.reference(slice), "bytes \(start)..<\(end)")
            }
        }
    }

    /// Around the length where a buffer is cut into four lanes, and lengths that leave each possible remainder
    /// after the lanes.
    @Test func lanedLengthsAgreeWithTheReference() {
        var generator = SystemRandomNumberGenerator()
        let bytes = (0..<70_010).map { _ in UInt8.random(in: 0...255, using: &generator) }
        for count in [4064, 4095, 4096, 4097, 4103, 4127, 4128, 4129, 8191, 65_536, 69_999] {
            let slice = bytes[3..<(3 + count)]
            let fast = slice.withUnsafeBytes { CRC32.checksum($0) }
            #expect(fast == Self.reference(slice), "\(count) bytes")
        }
    }

    /// Pieces short and long, so the four-lane path also starts from a register that is not zero.
    @Test func updatingInPiecesEqualsOneCall() {
        let bytes = (0..<20_000).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) }
        for piece in [77, 5003] {
            var crc = CRC32()
            for cut in stride(from: 0, to: bytes.count, by: piece) {
                bytes[cut..<min(cut + piece, bytes.count)].withUnsafeBytes { crc.update($0) }
            }
            #expect(crc.value == CRC32.checksum(bytes), "pieces of \(piece)")
        }
    }
}
