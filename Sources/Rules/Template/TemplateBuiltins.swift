import PromQL

/// Go's predefined template functions (`text/template/funcs.go`, Go 1.19), with their errors.
enum TemplateBuiltins {
    typealias Failure = TemplateFunction.Failure

    static let all: [String: TemplateFunction] = [
        // `and` and `or` are evaluated by the executor, which short-circuits them.
        "and": .pure([.value], variadic: .value, builtin: true) { args in args.last ?? .invalid },
        "or": .pure([.value], variadic: .value, builtin: true) { args in args.last ?? .invalid },
        "call": .pure([.value], variadic: .value, builtin: true) { args throws(Failure) in try call(args[0]) },
        "html": .pure([], variadic: .any, builtin: true) { args in .string(htmlEscape(evalArgs(args))) },
        "index": .pure([.value], variadic: .value, builtin: true) { args throws(Failure) in try index(args[0], Array(args.dropFirst())) },
        "slice": .pure([.value], variadic: .value, builtin: true) { args throws(Failure) in try slice(args[0], Array(args.dropFirst())) },
        "js": .pure([], variadic: .any, builtin: true) { args in .string(jsEscape(evalArgs(args))) },
        "len": .pure([.value], builtin: true) { args throws(Failure) in try length(args[0]) },
        "not": .pure([.value], builtin: true) { args in .bool(!args[0].truth) },
        "print": TemplateFunction([], variadic: .any, builtin: true) { args, execution in
            .string(GoFormat.sprint(args, limit: execution.limits.maximumOutputBytes))
        },
        "printf": TemplateFunction([.string], variadic: .any, builtin: true) { args, execution in
            .string(GoFormat.sprintf(args[0].text, Array(args.dropFirst()), limit: execution.limits.maximumOutputBytes))
        },
        "println": TemplateFunction([], variadic: .any, builtin: true) { args, execution in
            .string(GoFormat.sprintln(args, limit: execution.limits.maximumOutputBytes))
        },
        "urlquery": .pure([], variadic: .any, builtin: true) { args in .string(queryEscape(evalArgs(args))) },
        "eq": .pure([.value], variadic: .value, builtin: true) { args throws(Failure) in .bool(try eq(args[0], Array(args.dropFirst()))) },
        "ne": .pure([.value, .value], builtin: true) { args throws(Failure) in .bool(!(try eq(args[0], [args[1]]))) },
        "lt": .pure([.value, .value], builtin: true) { args throws(Failure) in .bool(try lt(args[0], args[1])) },
        "le": .pure([.value, .value], builtin: true) { args throws(Failure) in .bool(try le(args[0], args[1])) },
        "gt": .pure([.value, .value], builtin: true) { args throws(Failure) in .bool(!(try le(args[0], args[1]))) },
        "ge": .pure([.value, .value], builtin: true) { args throws(Failure) in .bool(!(try lt(args[0], args[1]))) },
    ]

    // MARK: - Indexing

    private static func indexArgument(_ index: TemplateValue, _ capacity: Int) throws(Failure) -> Int {
        switch index.concrete {
        case .int(let x):
            if x < 0 || x > capacity { throw Failure(message: "index out of range: \(x)") }
            return x
        case .invalid: throw Failure(message: "cannot index slice/array with nil")
        case let other: throw Failure(message: "cannot index slice/array with type \(other.typeName)")
        }
    }

    static func index(_ item: TemplateValue, _ indexes: [TemplateValue]) throws(Failure) -> TemplateValue {
        var item = item.concrete
        if case .invalid = item { throw Failure(message: "index of untyped nil") }
        for index in indexes {
            let (value, isNil) = TemplateExecution.indirect(item)
            if isNil { throw Failure(message: "index of nil pointer") }
            item = value
            switch item {
            case .string(let s), .html(let s):
                let bytes = Array(s.utf8)
                let x = try indexArgument(index, bytes.count)
                if x == bytes.count { throw Failure(message: "reflect: string index out of range") }
                item = .int(Int(bytes[x]))
            case .queryResult(let samples):
                let x = try indexArgument(index, samples.count)
                if x == samples.count { throw Failure(message: "reflect: slice index out of range") }
                item = .sample(samples[x])
            case .stringMap(let map):
                item = .string(map[try mapKey(index)] ?? "")
            case .anyMap(let map):
                let element = map[try mapKey(index)]
                item = .interface(element.flatMap { $0.isNil ? nil : $0 })
            case .sample: throw Failure(message: "can't index item of type template.sample")
            case .time: throw Failure(message: "can't index item of type time.Time")
            default:
                throw Failure(message: "can't index item of type \(item.typeName)")
            }
        }
        return item
    }

    /// Go's `prepareArg` for a `string` map key.
    private static func mapKey(_ index: TemplateValue) throws(Failure) -> String {
        switch index.concrete {
        case .string(let key): return key
        case .invalid: throw Failure(message: "value is nil; should be of type string")
        case let other: throw Failure(message: "value has type \(other.typeName); should be string")
        }
    }

    static func slice(_ item: TemplateValue, _ indexes: [TemplateValue]) throws(Failure) -> TemplateValue {
        let item = item.concrete
        if case .invalid = item { throw Failure(message: "slice of untyped nil") }
        if indexes.count > 3 { throw Failure(message: "too many slice indexes: \(indexes.count)") }
        let length: Int
        switch item {
        case .string(let s), .html(let s):
            if indexes.count == 3 { throw Failure(message: "cannot 3-index slice a string") }
            length = s.utf8.count
        case .queryResult(let samples): length = samples.count
        default: throw Failure(message: "can't slice item of type \(item.typeName)")
        }
        var bounds = [0, length, length]
        for (i, index) in indexes.enumerated() { bounds[i] = try indexArgument(index, length) }
        if bounds[0] > bounds[1] { throw Failure(message: "invalid slice index: \(bounds[0]) > \(bounds[1])") }
        if indexes.count == 3, bounds[1] > bounds[2] { throw Failure(message: "invalid slice index: \(bounds[1]) > \(bounds[2])") }
        switch item {
        case .string(let s): return .string(String(decoding: Array(s.utf8)[bounds[0]..<bounds[1]], as: UTF8.self))
        case .html(let s): return .html(String(decoding: Array(s.utf8)[bounds[0]..<bounds[1]], as: UTF8.self))
        case .queryResult(let samples): return .queryResult(Array(samples[bounds[0]..<bounds[1]]))
        default: return .invalid
        }
    }

    static func length(_ item: TemplateValue) throws(Failure) -> TemplateValue {
        let (value, isNil) = TemplateExecution.indirect(item)
        if isNil { throw Failure(message: "len of nil pointer") }
        switch value {
        case .string(let s), .html(let s): return .int(s.utf8.count)
        case .stringMap(let map): return .int(map.count)
        case .anyMap(let map): return .int(map.count)
        case .queryResult(let samples): return .int(samples.count)
        case .invalid: throw Failure(message: "reflect: call of reflect.Value.Type on zero Value")
        case .sample: throw Failure(message: "len of type template.sample")
        case .time: throw Failure(message: "len of type time.Time")
        default: throw Failure(message: "len of type \(value.typeName)")
        }
    }

    static func call(_ function: TemplateValue) throws(Failure) -> TemplateValue {
        let function = function.concrete
        if case .invalid = function { throw Failure(message: "call of nil") }
        throw Failure(message: "non-function of type \(function.typeName)")
    }

    // MARK: - Comparison

    private enum BasicKind { case bool, complex, int, float, string }

    private static func basicKind(_ value: TemplateValue) -> BasicKind? {
        switch value {
        case .bool: return .bool
        case .int: return .int
        case .float: return .float
        case .complex: return .complex
        case .string, .html: return .string
        default: return nil
        }
    }

    static func eq(_ arg1: TemplateValue, _ others: [TemplateValue]) throws(Failure) -> Bool {
        let a = arg1.concrete
        if others.isEmpty { throw Failure(message: "missing argument for comparison") }
        let k1 = basicKind(a)
        for other in others {
            let b = other.concrete
            let k2 = basicKind(b)
            var truth = false
            if k1 != k2 {
                if !a.isInvalid, !b.isInvalid { throw Failure(message: "incompatible types for comparison") }
            } else {
                switch (a, b) {
                case (.bool(let x), .bool(let y)): truth = x == y
                case (.int(let x), .int(let y)): truth = x == y
                case (.float(let x), .float(let y)): truth = x == y
                case (.complex(let xr, let xi), .complex(let yr, let yi)): truth = xr == yr && xi == yi
                case (.string(let x), .string(let y)), (.string(let x), .html(let y)), (.html(let x), .string(let y)), (.html(let x), .html(let y)):
                    truth = x == y && x.utf8.elementsEqual(y.utf8)
                default:
                    truth = try equalOther(a, b)
                }
            }
            if truth { return true }
        }
        return false
    }

    /// `eq` on values without a basic kind, as Go compares them: kinds must match, nil equals
    /// nil, maps, slices and the alert data (a struct holding maps) cannot be compared, and
    /// pointers are equal when they point to the same sample (here: an equal one).
    private static func equalOther(_ a: TemplateValue, _ b: TemplateValue) throws(Failure) -> Bool {
        if a.isInvalid || b.isInvalid { return a.isInvalid && b.isInvalid }
        func kind(_ value: TemplateValue) -> String {
            switch value {
            case .sample, .time: return "pointer"
            case .stringMap, .anyMap: return "map"
            case .queryResult: return "slice"
            default: return "struct"
            }
        }
        guard kind(a) == kind(b) else {
            let first = Printer().printed(a, verb: "s")
            let second = Printer().printed(b, verb: "v")
            throw Failure(message: "non-comparable types \(first): \(a.typeName), \(b.typeName): \(second)")
        }
        switch (a, b) {
        case (.sample(let x), .sample(let y)): return x == y
        case (.time(let x), .time(let y)): return x == y
        case (.sample, .time), (.time, .sample): return false
        default: throw Failure(message: "non-comparable type \(Printer().printed(b, verb: "s")): \(b.typeName)")
        }
    }

    static func lt(_ arg1: TemplateValue, _ arg2: TemplateValue) throws(Failure) -> Bool {
        let a = arg1.concrete
        let b = arg2.concrete
        guard let k1 = basicKind(a), let k2 = basicKind(b) else { throw Failure(message: "invalid type for comparison") }
        if k1 != k2 { throw Failure(message: "incompatible types for comparison") }
        switch (a, b) {
        case (.int(let x), .int(let y)): return x < y
        case (.float(let x), .float(let y)): return x < y
        case (.string(let x), .string(let y)), (.string(let x), .html(let y)), (.html(let x), .string(let y)), (.html(let x), .html(let y)):
            return goLess(x, y)
        default: throw Failure(message: "invalid type for comparison")
        }
    }

    static func le(_ arg1: TemplateValue, _ arg2: TemplateValue) throws(Failure) -> Bool {
        if try lt(arg1, arg2) { return true }
        return try eq(arg1, [arg2])
    }

    // MARK: - Escaping

    /// Go's `evalArgs`: a lone string as it is, anything else as `fmt.Sprint` prints it after
    /// `printableValue`: pointers followed (a sample prints as its struct), missing values as the
    /// string `<no value>`.
    static func evalArgs(_ args: [TemplateValue]) -> String {
        if args.count == 1, case .string(let s) = args[0].concrete { return s }
        var out = ""
        var previousIsString = false
        for (index, arg) in args.enumerated() {
            let value = arg.concrete
            let isString = value.isNil || value.isString
            if index > 0, !isString, !previousIsString { out += " " }
            out += value.isNil ? "<no value>" : TemplateExecution.printable(value)
            previousIsString = isString
        }
        return out
    }

    /// `template.HTMLEscapeString`.
    static func htmlEscape(_ s: String) -> String {
        var out = ""
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\0": out += "\u{FFFD}"
            case "\"": out += "&#34;"
            case "'": out += "&#39;"
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out
    }

    /// `template.JSEscapeString`.
    static func jsEscape(_ s: String) -> String {
        var out = ""
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\\": out += "\\\\"
            case "'": out += "\\'"
            case "\"": out += "\\\""
            case "<": out += "\\u003C"
            case ">": out += "\\u003E"
            case "&": out += "\\u0026"
            case "=": out += "\\u003D"
            case _ where scalar.value < 0x20:
                out += "\\u00" + String(scalar.value >> 4, radix: 16, uppercase: true) + String(scalar.value & 15, radix: 16, uppercase: true)
            case _ where scalar.value >= 0x80 && !GoText.isPrint(scalar):
                var hex = String(scalar.value, radix: 16, uppercase: true)
                if hex.count < 4 { hex = String(repeating: "0", count: 4 - hex.count) + hex }
                out += "\\u" + hex
            default:
                out.unicodeScalars.append(scalar)
            }
        }
        return out
    }

    /// `url.QueryEscape`: unreserved bytes kept, space as `+`, the rest `%XX`.
    static func queryEscape(_ s: String) -> String {
        var out = ""
        let hex = Array("0123456789ABCDEF")
        for byte in s.utf8 {
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                UInt8(ascii: "-"), UInt8(ascii: "_"), UInt8(ascii: "."), UInt8(ascii: "~"):
                out.append(Character(Unicode.Scalar(byte)))
            case UInt8(ascii: " "): out += "+"
            default:
                out.append("%")
                out.append(hex[Int(byte >> 4)])
                out.append(hex[Int(byte & 15)])
            }
        }
        return out
    }
}

extension TemplateValue {
    var isInvalid: Bool {
        if case .invalid = self { return true }
        return false
    }
}
