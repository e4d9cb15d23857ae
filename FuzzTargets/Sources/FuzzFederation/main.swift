import Foundation
import FuzzSupport
@testable import Hub
import Shared

/// A federation payload as the hub reads it (`HubIngest.decode`): JSON-decoded, then made
/// storable. Any bytes either decode or throw; what decodes survives encode → decode unchanged
/// (less what is not part of the format: the rejections); what is prepared for storage keeps to
/// the storage limits and prepares again to itself.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let body = Data(bytes: data, count: size)
    guard let payload = try? CanopyJSON.decoder().decode(FederationPayload.self, from: body) else { return 0 }
    let encoded: Data
    do {
        encoded = try CanopyJSON.encoder().encode(payload)
    } catch {
        require(false, "a decoded payload does not encode: \(error)")
        return 0
    }
    let again: FederationPayload
    do {
        again = try CanopyJSON.decoder().decode(FederationPayload.self, from: encoded)
    } catch {
        require(false, "the encoder's output does not decode: \(error)\n\(String(decoding: encoded, as: UTF8.self))")
        return 0
    }
    require(again == withoutRejections(payload), "decode → encode → decode changed the payload:\n\(payload)\n\(again)")
    require((try? CanopyJSON.encoder().encode(again)) == encoded, "encoding the same payload twice differs")

    guard let (storable, _) = try? StorablePayload().prepare(payload) else { return 0 }
    let limits = StorablePayload.Limits()
    for service in storable.services {
        require(service.name.utf8.count <= limits.identity, "a stored service name over \(limits.identity) bytes")
        require(service.undecodable.isEmpty, "rejections kept in a storable service")
        for group in service.groups {
            require(group.aggregationKey.utf8.count <= limits.identity, "a stored key over \(limits.identity) bytes")
            require(group.series.count <= limits.maxSeries, "more than \(limits.maxSeries) series stored")
        }
    }
    require((try? StorablePayload().prepare(storable))?.payload == storable, "preparing a storable payload again changes it")
    return 0
}

/// What decoding adds that is not part of the format: an encoded payload carries none of it.
private func withoutRejections(_ payload: FederationPayload) -> FederationPayload {
    var payload = payload
    for s in payload.services.indices {
        payload.services[s].undecodable = []
        for g in payload.services[s].groups.indices { payload.services[s].groups[g].undecodableSamples = [] }
    }
    return payload
}
