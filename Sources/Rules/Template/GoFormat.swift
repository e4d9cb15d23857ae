/// Go's `fmt.Sprint`, `fmt.Sprintln` and `fmt.Sprintf` on template values, with Go's verbs, flags,
/// widths and precisions, and its in-band errors (`%!d(string=x)`, `%!v(MISSING)`, `%!(EXTRA …)`).
/// `Printer` formats one operand.
///
/// Not done: argument indexes (`%[1]d`), `%p`, and `%#v` (Go syntax) beyond strings, maps, the
/// alert data and times. Pointers print as Go prints them only in form: their addresses are not Go's.
enum GoFormat {
    /// `fmt.Sprint`: spaces between operands when neither side is a string. Each of these stops
    /// early once its result is longer than `limit` bytes, for the caller to refuse.
    static func sprint(_ args: [TemplateValue], limit: Int = .max) -> String {
        var out = ""
        var previousIsString = false
        for (index, arg) in args.enumerated() {
            if out.utf8.count > limit { break }
            let value = arg.concrete
            let isString = value.isString
            if index > 0, !isString, !previousIsString { out += " " }
            out += Printer().printed(value, verb: "v")
            previousIsString = isString
        }
        return out
    }

    /// `fmt.Sprintln`: always spaces, and a newline.
    static func sprintln(_ args: [TemplateValue], limit: Int = .max) -> String {
        var out = ""
        for (index, arg) in args.enumerated() {
            if out.utf8.count > limit { break }
            out += (index > 0 ? " " : "") + Printer().printed(arg.concrete, verb: "v")
        }
        return out + "\n"
    }

    /// `fmt.Sprintf`.
    static func sprintf(_ format: String, _ args: [TemplateValue], limit: Int = .max) -> String {
        let args = args.map(\.concrete)
        let f = Array(format.unicodeScalars)
        var out = ""
        var argNum = 0
        var i = 0
        while i < f.count {
            if out.utf8.count > limit { return out }
            if f[i] != "%" {
                out.unicodeScalars.append(f[i])
                i += 1
                continue
            }
            i += 1
            var p = Printer()
            // Flags.
            flags: while i < f.count {
                switch f[i] {
                case "#": p.sharp = true
                case "0": p.zero = !p.minus
                case "+": p.plus = true
                case "-":
                    p.minus = true
                    p.zero = false
                case " ": p.space = true
                default: break flags
                }
                i += 1
            }
            // Width.
            if i < f.count, f[i] == "*" {
                i += 1
                if let width = intArgument(args, &argNum) {
                    p.width = width
                    if width < 0 {
                        p.minus = true
                        p.zero = false
                        p.width = -width
                    }
                } else {
                    out += "%!(BADWIDTH)"
                }
            } else {
                guard let (width, next) = number(f, i) else {
                    out += "%!(NOVERB)"
                    break
                }
                p.width = width
                i = next
            }
            // Precision.
            if i < f.count, f[i] == "." {
                i += 1
                if i < f.count, f[i] == "*" {
                    i += 1
                    if let precision = intArgument(args, &argNum) {
                        p.precision = precision < 0 ? nil : precision
                    } else {
                        out += "%!(BADPREC)"
                    }
                } else {
                    guard let (precision, next) = number(f, i) else {
                        out += "%!(NOVERB)"
                        break
                    }
                    p.precision = precision ?? 0
                    i = next
                }
            }
            guard i < f.count else {
                out += "%!(NOVERB)"
                break
            }
            let verb = f[i]
            i += 1
            if verb == "%" {
                out += "%"
                continue
            }
            guard argNum < args.count else {
                out += "%!\(verb)(MISSING)"
                continue
            }
            if verb == "v" {
                if p.sharp {
                    p.sharp = false
                    p.sharpV = true
                }
                if p.plus {
                    p.plus = false
                    p.plusV = true
                }
            }
            out += verb == "w" ? p.badVerb(args[argNum], verb) : p.printed(args[argNum], verb: verb)
            argNum += 1
        }
        if argNum < args.count {
            out += "%!(EXTRA "
            out += args[argNum...].map { arg in
                if case .invalid = arg { return "<nil>" }
                return arg.typeName + "=" + Printer().printed(arg, verb: "v")
            }.joined(separator: ", ")
            out += ")"
        }
        return out
    }

    /// A width or precision from the argument list (`*`): Go takes any integer up to a million.
    private static func intArgument(_ args: [TemplateValue], _ argNum: inout Int) -> Int? {
        guard argNum < args.count else { return nil }
        defer { argNum += 1 }
        guard case .int(let value) = args[argNum], abs(value) <= 1_000_000 else { return nil }
        return value
    }

    /// Digits at `start`: (nil, start) when there are none; nil when the number is over a million,
    /// where Go gives up on the rest of the format.
    private static func number(_ f: [Unicode.Scalar], _ start: Int) -> (Int?, Int)? {
        var i = start
        var value = 0
        while i < f.count, f[i] >= "0", f[i] <= "9" {
            if value > 1_000_000 { return nil }
            value = value * 10 + Int(f[i].value - 48)
            i += 1
        }
        return (i == start ? nil : value, i)
    }
}
