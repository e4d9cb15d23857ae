import FuzzSupport
import Periskop

/// Any bytes either decode or throw a `PayloadError`; what decodes survives encode → decode
/// unchanged, and its encoding is stable. A decoder with tight limits must keep them.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = UnsafeRawBufferPointer(start: data, count: size)
    let decoder = PayloadDecoder()
    if let payload = try? decoder.decode(bytes) {
        let encoded = PayloadEncoder().encode(payload)
        let again: ExceptionsPayload
        do {
            again = try decoder.decode(encoded)
        } catch {
            require(false, "the encoder's output does not decode: \(error)\n\(String(decoding: encoded, as: UTF8.self))")
            return 0
        }
        require(again == payload, "decode → encode → decode changed the payload:\n\(payload)\n\(again)")
        require(PayloadEncoder().encode(again) == encoded, "encoding the same payload twice differs")
    }
    let limits = PayloadLimits(maxCauseDepth: 2, maxSamplesPerGroup: 2, maxStringLength: 16, maxBodyLength: 32, maxStacktraceLines: 3, maxGroups: 4)
    if let payload = try? PayloadDecoder(limits: limits).decode(bytes) {
        require(payload.aggregatedErrors.count <= 4, "more groups than maxGroups")
        for group in payload.aggregatedErrors {
            require(group.latestErrors.count <= 2, "more samples than maxSamplesPerGroup in \(group.aggregationKey)")
            for sample in group.latestErrors {
                require(sample.error.causeDepth <= 2, "a cause chain deeper than maxCauseDepth")
                require(sample.error.stacktrace.count <= 3, "more stack trace lines than maxStacktraceLines")
            }
        }
    }
    return 0
}
