import Foundation
import Periskop

/// The JSON conventions of Canopy's APIs: snake_case keys (set per type), RFC 3339 times in UTC
/// with milliseconds (`.iso8601` drops them) written and read as the wire format's `RFC3339`
/// does, sorted keys so that equal states give equal bytes.
public enum CanopyJSON {
    public static func encoder(pretty: Bool = false) -> JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = pretty ? [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes] : [.sortedKeys, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .custom { date, encoder in
            var container = encoder.singleValueContainer()
            try container.encode(format(date))
        }
        return encoder
    }

    public static func decoder() -> JSONDecoder {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .custom { decoder in
            let container = try decoder.singleValueContainer()
            let text = try container.decode(String.self)
            guard let date = parse(text) else {
                throw DecodingError.dataCorruptedError(in: container, debugDescription: "not an RFC 3339 time: \(text)")
            }
            return date
        }
        return decoder
    }

    public static func format(_ date: Date) -> String { RFC3339.string(from: date) }

    public static func parse(_ text: String) -> Date? { RFC3339.date(from: text) }
}
