#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Where each group of a federation body lies: the byte range of every element of every
/// service's `groups` array, found by following the JSON's structure (strings, nesting) without
/// decoding it. Only for bodies the JSON decoder also reads (`GroupReuse` decodes the rest of the
/// body with it): whatever this reader does not expect — a key written with escapes, a key given
/// twice, a service that is not an object — gives nil, and the body is decoded whole.
struct FederationLayout: Equatable {
    /// Per service, in order: its groups' ranges, in order.
    var services: [[Range<Int>]]
    /// Per service: what lies between the `[` and `]` of its groups.
    var contents: [Range<Int>]

    /// The body without its groups (each `groups` array left empty): all the JSON decoder has to read.
    func remainder(of body: [UInt8]) -> [UInt8] {
        var result: [UInt8] = []
        result.reserveCapacity(body.count - contents.reduce(0) { $0 + $1.count })
        var start = 0
        for range in contents {
            result.append(contentsOf: body[start..<range.lowerBound])
            start = range.upperBound
        }
        result.append(contentsOf: body[start...])
        return result
    }

    static func scan(_ body: [UInt8]) -> FederationLayout? {
        body.withUnsafeBufferPointer { bytes in
            var reader = Reader(bytes: bytes)
            return reader.payload()
        }
    }

    /// Reads the body in place, without an array's bounds checks (a body is a megabyte or more),
    /// and finds a string's end with `memchr`.
    private struct Reader {
        let bytes: UnsafeBufferPointer<UInt8>
        var position = 0

        mutating func payload() -> FederationLayout? {
            var layout: FederationLayout?
            guard objectMembers({ reader, key in
                if key == "services" {
                    guard layout == nil, let found = reader.services() else { return false }
                    layout = found
                    return true
                }
                return reader.skipValue()
            }) else { return nil }
            skipWhitespace()
            guard position == bytes.count else { return nil }
            return layout
        }

        private mutating func services() -> FederationLayout? {
            var layout = FederationLayout(services: [], contents: [])
            let read = arrayElements { reader in
                var groups: (ranges: [Range<Int>], contents: Range<Int>)?
                guard reader.objectMembers({ reader, key in
                    if key == "groups" {
                        guard groups == nil, let found = reader.groups() else { return false }
                        groups = found
                        return true
                    }
                    return reader.skipValue()
                }) else { return false }
                // A service without groups fails to decode: the whole body is decoded and says so.
                guard let groups else { return false }
                layout.services.append(groups.ranges)
                layout.contents.append(groups.contents)
                return true
            }
            return read ? layout : nil
        }

        private mutating func groups() -> (ranges: [Range<Int>], contents: Range<Int>)? {
            var ranges: [Range<Int>] = []
            skipWhitespace()
            let start = position + 1
            let read = arrayElements { reader in
                reader.skipWhitespace()
                let start = reader.position
                guard reader.peek == UInt8(ascii: "{"), reader.skipValue() else { return false }
                ranges.append(start..<reader.position)
                return true
            }
            return read ? (ranges, start..<(position - 1)) : nil
        }

        /// `{ "key": value, ... }`, `member` reading each value; false if anything is unexpected.
        private mutating func objectMembers(_ member: (inout Reader, String) -> Bool) -> Bool {
            skipWhitespace()
            guard take(UInt8(ascii: "{")) else { return false }
            skipWhitespace()
            if take(UInt8(ascii: "}")) { return true }
            var seen: Set<String> = []
            while true {
                skipWhitespace()
                guard let key = plainKey(), seen.insert(key).inserted else { return false }
                skipWhitespace()
                guard take(UInt8(ascii: ":")), member(&self, key) else { return false }
                skipWhitespace()
                if take(UInt8(ascii: ",")) { continue }
                return take(UInt8(ascii: "}"))
            }
        }

        /// `[ value, ... ]`, `element` reading each; false if anything is unexpected.
        private mutating func arrayElements(_ element: (inout Reader) -> Bool) -> Bool {
            skipWhitespace()
            guard take(UInt8(ascii: "[")) else { return false }
            skipWhitespace()
            if take(UInt8(ascii: "]")) { return true }
            while true {
                guard element(&self) else { return false }
                skipWhitespace()
                if take(UInt8(ascii: ",")) { continue }
                return take(UInt8(ascii: "]"))
            }
        }

        /// A key without escapes (an escaped key could spell `groups` in other bytes).
        private mutating func plainKey() -> String? {
            guard take(UInt8(ascii: "\"")) else { return nil }
            let start = position
            while position < bytes.count, bytes[position] != UInt8(ascii: "\"") {
                if bytes[position] == UInt8(ascii: "\\") { return nil }
                position += 1
            }
            guard position < bytes.count else { return nil }
            let key = String(decoding: bytes[start..<position], as: UTF8.self)
            position += 1
            return key
        }

        /// Any value: a string with its escapes, an object or array to its matching close, a
        /// number or literal to what ends it.
        private mutating func skipValue() -> Bool {
            skipWhitespace()
            guard let first = peek else { return false }
            if first == UInt8(ascii: "\"") { return skipString() }
            guard first == UInt8(ascii: "{") || first == UInt8(ascii: "[") else {
                let start = position
                while let byte = peek, !Self.endsScalar(byte) { position += 1 }
                return position > start
            }
            var depth = 0
            while position < bytes.count {
                switch bytes[position] {
                case UInt8(ascii: "\""):
                    guard skipString() else { return false }
                    continue
                case UInt8(ascii: "{"), UInt8(ascii: "["):
                    depth += 1
                case UInt8(ascii: "}"), UInt8(ascii: "]"):
                    depth -= 1
                    if depth == 0 {
                        position += 1
                        return true
                    }
                default:
                    break
                }
                position += 1
            }
            return false
        }

        private static func endsScalar(_ byte: UInt8) -> Bool {
            byte == UInt8(ascii: ",") || byte == UInt8(ascii: "}") || byte == UInt8(ascii: "]") || byte == 0x20 || byte == 0x0A || byte == 0x0D || byte == 0x09
        }

        /// A string from its opening quote to past its closing one: the first quote not escaped,
        /// i.e. not after an odd run of backslashes (which cannot reach back past the opening quote).
        private mutating func skipString() -> Bool {
            guard let base = bytes.baseAddress else { return false }
            var from = position + 1
            while from < bytes.count {
                guard let found = memchr(base + from, Int32(UInt8(ascii: "\"")), bytes.count - from) else { return false }
                let quote = base.distance(to: found.assumingMemoryBound(to: UInt8.self))
                var backslashes = 0
                while bytes[quote - 1 - backslashes] == UInt8(ascii: "\\") { backslashes += 1 }
                if backslashes % 2 == 0 {
                    position = quote + 1
                    return true
                }
                from = quote + 1
            }
            return false
        }

        private var peek: UInt8? { position < bytes.count ? bytes[position] : nil }

        private mutating func take(_ byte: UInt8) -> Bool {
            guard peek == byte else { return false }
            position += 1
            return true
        }

        private mutating func skipWhitespace() {
            while let byte = peek, byte == 0x20 || byte == 0x0A || byte == 0x0D || byte == 0x09 { position += 1 }
        }
    }
}
