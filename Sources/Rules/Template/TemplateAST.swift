import PromQL

/// The parse tree of a template, shaped as Go's `text/template/parse` nodes. Positions are byte
/// offsets into the whole parsed text; `description` is Go's `Node.String`, which execution errors
/// quote (`at <.Labels.x>`).
indirect enum TemplateNode: Sendable {
    case text(pos: Int, String)
    case action(pos: Int, line: Int, TemplatePipe)
    case ifNode(TemplateBranch)
    case range(TemplateBranch)
    case with(TemplateBranch)
    case template(TemplateCall)
    case breakNode(pos: Int)
    case continueNode(pos: Int)

    var pos: Int {
        switch self {
        case .text(let pos, _), .action(let pos, _, _), .breakNode(let pos), .continueNode(let pos): return pos
        case .ifNode(let branch), .range(let branch), .with(let branch): return branch.pos
        case .template(let call): return call.pos
        }
    }

    var description: String {
        switch self {
        case .text(_, let text): return text
        case .action(_, _, let pipe): return "{{\(pipe.description)}}"
        case .ifNode(let branch): return branch.description(keyword: "if")
        case .range(let branch): return branch.description(keyword: "range")
        case .with(let branch): return branch.description(keyword: "with")
        case .template(let call): return call.description
        case .breakNode: return "{{break}}"
        case .continueNode: return "{{continue}}"
        }
    }

    /// Go's `IsEmptyTree`: nothing but white space (comments are not kept).
    static func isEmpty(_ list: [TemplateNode]) -> Bool {
        list.allSatisfy { node in
            if case .text(_, let text) = node { return text.unicodeScalars.allSatisfy(\.properties.isWhitespace) }
            return false
        }
    }
}

/// `if`, `range` or `with`.
struct TemplateBranch: Sendable {
    var pos: Int
    var line: Int
    var pipe: TemplatePipe
    var list: [TemplateNode]
    var elseList: [TemplateNode]?

    func description(keyword: String) -> String {
        var out = "{{\(keyword) \(pipe.description)}}" + list.map(\.description).joined()
        if let elseList { out += "{{else}}" + elseList.map(\.description).joined() }
        return out + "{{end}}"
    }
}

/// `{{template "name" pipeline}}` (and a `block`, once its definition is taken out).
struct TemplateCall: Sendable {
    var pos: Int
    var line: Int
    var name: String
    var pipe: TemplatePipe?

    var description: String {
        var out = "{{template " + GoText.quote(name)
        if let pipe { out += " " + pipe.description }
        return out + "}}"
    }
}

/// `$x := cmd | cmd`: declarations (or assignments) and commands.
struct TemplatePipe: Sendable {
    var pos: Int
    var line: Int
    var isAssign = false
    var declarations: [TemplateVariable] = []
    var commands: [TemplateCommand] = []

    var description: String {
        var out = ""
        if !declarations.isEmpty { out = declarations.map { $0.names.joined(separator: ".") }.joined(separator: ", ") + " := " }
        return out + commands.map(\.description).joined(separator: " | ")
    }
}

struct TemplateVariable: Sendable {
    var pos: Int
    /// The variable and the fields after it: `$x.a.b` is `["$x", "a", "b"]`.
    var names: [String]
}

/// A function or value and its arguments.
struct TemplateCommand: Sendable {
    var pos: Int
    var args: [TemplateOperand]

    var description: String {
        args.map { arg in
            if case .pipe(let pipe) = arg { return "(\(pipe.description))" }
            return arg.description
        }.joined(separator: " ")
    }
}

/// What a command is made of.
indirect enum TemplateOperand: Sendable {
    /// `.a.b`: `["a", "b"]`.
    case field(pos: Int, names: [String])
    /// `(pipeline).a.b` and the like.
    case chain(pos: Int, base: TemplateOperand, fields: [String])
    case identifier(pos: Int, name: String)
    case variable(TemplateVariable)
    case dot(pos: Int)
    case nilValue(pos: Int)
    case bool(pos: Int, Bool)
    case number(TemplateNumber)
    case string(pos: Int, quoted: String, text: String)
    case pipe(TemplatePipe)

    var pos: Int {
        switch self {
        case .field(let pos, _), .chain(let pos, _, _), .identifier(let pos, _), .dot(let pos), .nilValue(let pos), .bool(let pos, _),
            .string(let pos, _, _):
            return pos
        case .variable(let variable): return variable.pos
        case .number(let number): return number.pos
        case .pipe(let pipe): return pipe.pos
        }
    }

    var description: String {
        switch self {
        case .field(_, let names): return names.map { "." + $0 }.joined()
        case .chain(_, let base, let fields):
            let head = if case .pipe(let pipe) = base { "(\(pipe.description))" } else { base.description }
            return head + fields.map { "." + $0 }.joined()
        case .identifier(_, let name): return name
        case .variable(let variable): return variable.names.joined(separator: ".")
        case .dot: return "."
        case .nilValue: return "nil"
        case .bool(_, let value): return value ? "true" : "false"
        case .number(let number): return number.text
        case .string(_, let quoted, _): return quoted
        case .pipe(let pipe): return pipe.description
        }
    }
}

/// A numeric constant with every Go type it can be read as (`parse.NumberNode`).
struct TemplateNumber: Sendable {
    var pos: Int
    var text: String
    var int: Int64?
    var uint: UInt64?
    var float: Double?
    /// Real and imaginary parts, for `1+2i` and `2i`.
    var complex: (Double, Double)?
}

/// What the executor reports an error at: a node, a pipeline, a command or an operand.
enum TemplateLocation: Sendable {
    case node(TemplateNode)
    case pipe(TemplatePipe)
    case command(TemplateCommand)
    case operand(TemplateOperand)

    var pos: Int {
        switch self {
        case .node(let node): return node.pos
        case .pipe(let pipe): return pipe.pos
        case .command(let command): return command.pos
        case .operand(let operand): return operand.pos
        }
    }

    var description: String {
        switch self {
        case .node(let node): return node.description
        case .pipe(let pipe): return pipe.description
        case .command(let command): return command.description
        case .operand(let operand): return operand.description
        }
    }
}
