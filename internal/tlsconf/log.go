package tlsconf

// Log keys of the package's lines.
const (
	logKeyError    = "error"
	logKeyCertFile = "cert_file"
	logKeyHost     = "host"
)
