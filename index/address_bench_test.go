package index

import (
	"math/rand/v2"
	"strings"
	"sync"
	"testing"

	"gridmap/demo"
	"gridmap/geo"
)

var addrBench struct {
	once    sync.Once
	ix      *addressIndex
	queries map[string][]string // by form: addresses as residents type them, building names
}

// BenchmarkAddressSearch ranks address queries as residents type them
// (whole addresses, houses, streets, one digit wrong) and building names
// over the 200,000 buildings of the scaled demo:
//
//	go test ./index -run '^$' -bench AddressSearch -benchtime 2s
func BenchmarkAddressSearch(b *testing.B) {
	addrBench.once.Do(func() {
		ds, err := demo.Generate(demo.Options{Grids: 2000, Buildings: 200000})
		if err != nil {
			panic(err)
		}
		for i := range ds.Buildings {
			ds.Buildings[i].AddressNorm = geo.NormalizeAddress(ds.Buildings[i].Address)
		}
		addrBench.ix = newAddressIndex(ds.Buildings, nil)
		rng := rand.New(rand.NewPCG(3, 3))
		addrBench.queries = map[string][]string{}
		for range 1000 {
			bd := ds.Buildings[rng.IntN(len(ds.Buildings))]
			a, form := bd.Address, "addresses"
			switch rng.IntN(5) {
			case 1:
				if i := strings.LastIndex(a, "号"); i > 0 {
					a = a[:i+len("号")]
				}
			case 2:
				if i := strings.Index(a, "路"); i > 0 {
					a = a[:i+len("路")]
				}
			case 3:
				a = strings.Replace(a, "1", "7", 1)
			case 4:
				if bd.Name != "" {
					a, form = bd.Name, "names"
				}
			}
			addrBench.queries[form] = append(addrBench.queries[form], geo.NormalizeAddress(a))
		}
	})
	for _, form := range []string{"addresses", "names"} {
		qs := addrBench.queries[form]
		b.Run(form, func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				addrBench.ix.search(qs[i%len(qs)], 10)
			}
		})
	}
}
