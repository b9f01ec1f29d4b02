package geo

// Contact is an area's office address and phone, printed on posters, and
// its citizen hotline ("": the configured default).
type Contact struct {
	Address, Phone, Hotline string
}
