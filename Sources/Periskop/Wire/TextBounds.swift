/// How Canopy bounds a string from outside: at most `limit` UTF-8 bytes, cut at a character
/// boundary, and marked where it was cut, as `PayloadDecoder` cuts a payload's strings (the
/// decoder does the same on bytes, without making the string first).
public enum TextBounds {
    public static let marker = "…[truncated]"

    /// `text` cut to `limit` bytes plus `marker` when longer than that; a text cut this way
    /// before (by a leaf, say) is not cut again.
    public static func cut(_ text: String, to limit: Int, marker: String = TextBounds.marker) -> String {
        guard text.utf8.count > limit + marker.utf8.count else { return text }
        var kept = ""
        var bytes = 0
        for character in text {
            bytes += character.utf8.count
            if bytes > limit { break }
            kept.append(character)
        }
        return kept + marker
    }
}
