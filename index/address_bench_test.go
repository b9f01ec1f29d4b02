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
	queries []string
}

// BenchmarkAddressSearch ranks address queries as residents type them
// (whole addresses, houses, streets, one digit wrong, estate names) over the
// 200,000 buildings of the scaled demo:
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
		for range 1000 {
			bd := ds.Buildings[rng.IntN(len(ds.Buildings))]
			a := bd.Address
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
					a = bd.Name
				}
			}
			addrBench.queries = append(addrBench.queries, geo.NormalizeAddress(a))
		}
	})
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		addrBench.ix.search(addrBench.queries[i%len(addrBench.queries)], 10)
	}
}
