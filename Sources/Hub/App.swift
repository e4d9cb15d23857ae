import PostgresNIO
import Shared

@main
struct CanopyHub {
    static func main() {}
}
