import Hummingbird
import HummingbirdCore
import Logging
import NIOCore
import NIOSSL

extension WebAccess {
    /// Plain HTTP/1.1, or HTTP/1.1 over TLS with the context in force when each connection
    /// starts: a reload that brings new certificate files (or client CAs, versions, ciphers) takes
    /// effect on the next connection, as exporter-toolkit's `GetConfigForClient` does. (HummingbirdTLS's
    /// `TLSChannel` builds its context once, at start.)
    public var server: HTTPServerBuilder {
        guard isTLS else { return .http1() }
        return HTTPServerBuilder { responder in
            ReloadableTLSChannel(base: HTTP1Channel(responder: responder), access: self)
        }
    }

    /// Wraps a router's responder so that every request is checked and every answer gets the headers.
    public func responder<Next: HTTPResponder>(_ next: Next) -> WebAccessResponder<Next> where Next.Context: RequestContext {
        WebAccessResponder(self, next)
    }
}

/// A TLS handshake in front of `base`, with the context the web config holds at that moment.
struct ReloadableTLSChannel<Base: ServerChildChannel>: ServerChildChannel {
    typealias Value = Base.Value
    let base: Base
    let access: WebAccess

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        guard let tls = access.tlsServer else {
            return channel.eventLoop.makeFailedFuture(NIOSSLError.failedToLoadCertificate)
        }
        // RequestClientCert and RequireAnyClientCert take any certificate, signed by anyone, as Go's do.
        let acceptAny: NIOSSLCustomVerificationCallback? = tls.acceptsAnyCertificate ? { _, promise in promise.succeed(.certificateVerified) } : nil
        return channel.eventLoop.makeCompletedFuture {
            try channel.pipeline.syncOperations.addHandler(
                NIOSSLServerHandler(context: tls.context, customVerificationCallback: acceptAny, configuration: .init()))
        }.flatMap {
            base.setup(channel: channel, logger: logger)
        }
    }

    func handle(value: Value, logger: Logger) async {
        await base.handle(value: value, logger: logger)
    }
}
