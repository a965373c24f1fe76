import SluiceCore
import Testing

/// Core's SHA-256 against FIPS 180-4's examples and, for every length up to three blocks, against Python's `hashlib`.
@Suite struct SHA256Tests {
    @Test func theStandardsExamples() {
        #expect(SHA256.hex("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        #expect(SHA256.hex("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect(
            SHA256.hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq")
                == "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
        #expect(
            SHA256.hex(String(repeating: "a", count: 1000))
                == "41edece42d63e8d9bf515a9ba6932e1c20cbc9f5a5d134645adb5db1b9737ea3")
        #expect(
            SHA256.hex([UInt8](repeating: UInt8(ascii: "a"), count: 1_000_000))
                == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
    }

    /// The digests of the bytes `(i * 31 + 7) & 0xff` for every length 0..<200, hex-joined, hashed once more; the
    /// expected value is what `hashlib.sha256` gives for the same (every padding case: 55, 56, 63, 64 bytes…).
    @Test func everyLengthUpToThreeBlocks() {
        var joined = ""
        for count in 0..<200 {
            joined += SHA256.hex((0..<count).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) })
        }
        #expect(SHA256.hex(joined) == "33c8cf4f74c8dabdd8e6b3c11b4a9ef10194954137e466e0eecbbc208470bbb0")
    }

    @Test func updatingInPiecesEqualsOneCall() {
        let bytes = (0..<1000).map { UInt8(truncatingIfNeeded: $0 &* 131 &+ 3) }
        for piece in [1, 7, 63, 64, 65, 300] {
            var hasher = SHA256()
            for start in stride(from: 0, to: bytes.count, by: piece) {
                hasher.update(bytes[start..<min(start + piece, bytes.count)])
            }
            #expect(hasher.finalizeHex() == SHA256.hex(bytes), "pieces of \(piece)")
        }
        // A non-contiguous collection goes through a copy.
        #expect(SHA256.hex(bytes.lazy.map { $0 }) == SHA256.hex(bytes))
    }
}
