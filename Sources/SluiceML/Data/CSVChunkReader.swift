#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Reads a CSV file as a sequence of frames of at most `chunkRows` rows, holding about one chunk's bytes at a time,
/// so files larger than memory can be processed row-block by row-block.
///
/// The header (given or inferred from the first record) names the columns of every chunk; declared types apply
/// to every chunk; other columns are inferred per chunk (a column of numbers in one chunk may be text in another
/// when a later chunk holds a non-number). Errors name the file's real line numbers.
public final class CSVChunkReader {
    public let path: String
    /// Column names, known after the first `next()`.
    public private(set) var names: [String] = []
    /// The most bytes of the file held at once (the bound the streaming guarantees: one chunk plus one read).
    public private(set) var peakBufferBytes = 0

    private var options: CSVOptions
    private let chunkRows: Int
    private let readSize: Int
    private let fd: Int32
    /// Unparsed bytes; `buffer[0]` starts line `bufferLine` of the file.
    private var buffer: [UInt8] = []
    private var bufferLine = 1
    private var atEndOfFile = false
    private var started = false
    private var emitted = false
    /// Scan state over `buffer`: records ended so far, where the scan stopped, whether it stopped inside quotes.
    private var scanRecords = 0
    private var scanPosition = 0
    private var scanInQuotes = false

    /// Opens `path`; `chunkRows` rows per frame, `readSize` bytes per read.
    public init(
        path: String, options: CSVOptions = CSVOptions(), chunkRows: Int = 65_536, readSize: Int = 1 << 20
    ) throws(MLError) {
        guard chunkRows > 0, readSize > 0 else {
            throw MLError(.invalidOption, "chunkRows and readSize must be positive", file: path)
        }
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else {
            throw MLError(.io, "cannot open the file (\(String(cString: strerror(errno)))); check the path", file: path)
        }
        var info = stat()
        if fstat(fd, &info) == 0, (info.st_mode & S_IFMT) == S_IFDIR {
            close(fd)
            throw MLError(.io, "this is a folder; give a CSV file", file: path)
        }
        self.fd = fd
        self.path = path
        self.options = options
        self.chunkRows = chunkRows
        self.readSize = readSize
    }

    deinit { close(fd) }

    private func isBlankByte(_ byte: UInt8) -> Bool { byte == 32 || byte == 9 || byte == 10 || byte == 13 }

    /// The next chunk, nil after the last. The first call returns a frame even for a file with only a header.
    public func next() throws(MLError) -> Frame? {
        if !started { try readHeader() }
        while true {
            let cut: Int
            if let end = scan(forRecords: chunkRows) {
                cut = end
            } else if atEndOfFile {
                cut = buffer.count
            } else {
                try fill()
                continue
            }
            if cut == 0 {
                guard !emitted else { return nil }
                emitted = true
                return Frame(names: names, columns: names.map { _ in .numeric([]) }, source: path)
            }
            let blank = buffer[0..<cut].allSatisfy(isBlankByte)
            let line = bufferLine
            let frame = blank ? nil : try parse(upTo: cut, firstLine: line)
            drop(cut)
            if let frame {
                emitted = true
                return frame
            }
        }
    }

    /// Reads the first record and decides whether it is a header (as the whole-file reader does).
    private func readHeader() throws(MLError) {
        // Like the whole-file reader: an error only when the whole file is blank.
        var end = 0
        while true {
            let blank = buffer.allSatisfy(isBlankByte)
            if !blank {
                resetScan()
                if let cut = scan(forRecords: 1) {
                    end = cut
                    break
                }
            }
            if atEndOfFile {
                if blank {
                    throw MLError(.emptyFile, "the file is empty; a CSV file needs at least one row", file: path)
                }
                end = buffer.count
                break
            }
            try fill()
        }
        let options = self.options
        let path = self.path
        let result = buffer.withUnsafeBufferPointer { bytes -> Result<(Bool, [String]), MLError> in
            var tokenizer = Tokenizer(
                base: bytes.baseAddress!, position: 0, end: end, delimiter: options.delimiter, line: 1)
            _ = tokenizer.next()
            let fields = (0..<tokenizer.count).map { tokenizer.string($0) }
            do throws(MLError) {
                return .success(try CSVReader.header(fields, options: options, source: path, line: 1))
            } catch {
                return .failure(error)
            }
        }
        let (hasHeader, names) = try result.get()
        self.names = names
        self.options.header = false
        self.options.names = names
        started = true
        if hasHeader { drop(end) } else { resetScan() }
    }

    private func parse(upTo cut: Int, firstLine: Int) throws(MLError) -> Frame {
        let options = self.options
        let path = self.path
        let result = buffer.withUnsafeBufferPointer { all -> Result<Frame, MLError> in
            do throws(MLError) {
                return .success(
                    try CSVReader.parse(
                        UnsafeBufferPointer(rebasing: all[0..<cut]), source: path, options: options,
                        firstLine: firstLine))
            } catch {
                return .failure(error)
            }
        }
        return try result.get()
    }

    /// Forgets the first `count` bytes (whole records).
    private func drop(_ count: Int) {
        if count > 0 { bufferLine += buffer.withUnsafeBufferPointer { countNewlines($0.baseAddress!, count) } }
        buffer.removeFirst(count)
        resetScan()
    }

    private func resetScan() {
        scanRecords = 0
        scanPosition = 0
        scanInQuotes = false
    }

    /// The end of the first `records` records in the buffer (just past a newline outside quotes), if it holds
    /// that many; resumes where the previous scan stopped.
    private func scan(forRecords records: Int) -> Int? {
        buffer.withUnsafeBufferPointer { bytes -> Int? in
            var i = scanPosition
            while i < bytes.count {
                let byte = bytes[i]
                i += 1
                if byte == UInt8(ascii: "\"") {
                    scanInQuotes.toggle()
                } else if byte == UInt8(ascii: "\n"), !scanInQuotes {
                    scanRecords += 1
                    if scanRecords == records {
                        scanPosition = i
                        return i
                    }
                }
            }
            scanPosition = i
            return nil
        }
    }

    /// Appends up to `readSize` bytes from the file.
    private func fill() throws(MLError) {
        let old = buffer.count
        buffer.append(contentsOf: repeatElement(0, count: readSize))
        let n = buffer.withUnsafeMutableBytes { raw in read(fd, raw.baseAddress! + old, readSize) }
        guard n >= 0 else {
            throw MLError(.io, "cannot read the file (\(String(cString: strerror(errno))))", file: path)
        }
        buffer.removeLast(readSize - n)
        if n == 0 { atEndOfFile = true }
        peakBufferBytes = max(peakBufferBytes, old + readSize)
    }
}
