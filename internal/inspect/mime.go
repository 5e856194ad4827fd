package inspect

// mime inspects a file that is not bare XML: an ebXML MIME message, with or
// without the HTTP request line and headers in front of it.
func mime(b []byte) Result {
	return Result{Error: "not an XML document"}
}
