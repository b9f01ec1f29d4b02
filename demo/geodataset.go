package demo

import "gridmap/geo"

// GeoDataset turns the generated data into what the importer writes, with
// SVG avatars as the photos.
func (ds *Dataset) GeoDataset() *geo.Dataset {
	out := &geo.Dataset{Buildings: ds.Buildings, Roads: ds.Roads}
	for _, a := range ds.Areas {
		out.Areas = append(out.Areas, geo.AreaInput{Ref: a.Code, Level: a.Level, Code: a.Code, Name: a.Name, ParentCode: a.ParentCode, Geometry: a.Geometry})
	}
	for _, p := range ds.People {
		out.People = append(out.People, geo.PersonInput{Key: p.Key, Person: p.Person, Photo: p.PhotoSVG, PhotoContentType: "image/svg+xml"})
	}
	for _, d := range ds.Duties {
		out.Duties = append(out.Duties, geo.DutyInput{PersonKey: d.PersonKey, AreaCode: d.AreaCode, BuildingCode: d.BuildingCode, Role: d.Role, ValidFrom: d.ValidFrom})
	}
	return out
}
