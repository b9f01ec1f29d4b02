package demo

import (
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"strings"
	"time"

	"gridmap/geo"
)

// Phone numbers are "140" + 8 digits: mainland 140 numbers are data-only IoT
// numbers without voice service, so no real person can be called. The 8 digits
// are (a*i + b) mod 10^8 for the i-th person, a bijection, so numbers are
// unique and look random.
const phoneSpace = 100_000_000

// avatarColours are the background colours of generated avatars.
var avatarColours = []string{
	"#1f6feb", "#2f9e44", "#c2410c", "#7c3aed", "#0e7490", "#b91c1c",
	"#a16207", "#be185d", "#4d7c0f", "#1d4ed8", "#0f766e", "#9333ea",
}

// Duties start on a date in 2023–2025 (00:00 UTC).
var (
	dutyEpoch = time.Date(2023, 1, 1, 0, 0, 0, 0, time.UTC)
	dutyDays  = int(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).Sub(dutyEpoch).Hours() / 24)
)

type peopleGen struct {
	rng    *rand.Rand
	phoneA uint64
	phoneB uint64
	people []Person
	duties []Duty
}

func newPeopleGen(rng *rand.Rand) *peopleGen {
	// a must be coprime with 10^8: odd and not a multiple of 5.
	a := uint64(rng.IntN(phoneSpace/10))*10 + []uint64{1, 3, 7, 9}[rng.IntN(4)]
	return &peopleGen{rng: rng, phoneA: a, phoneB: uint64(rng.IntN(phoneSpace))}
}

// publicity is the share of people in a role whose phone and photo are public.
type publicity struct{ phone, photo float64 }

var rolePublicity = map[geo.Role]publicity{
	geo.RoleGridLeader:     {1, 1},
	geo.RolePolice:         {1, 1},
	geo.RoleGridWorker:     {1, 0.9},
	geo.RoleInfoOfficer:    {0.8, 0.5},
	geo.RoleBuildingLeader: {0.85, 0.3},
	geo.RoleVolunteer:      {0.6, 0.5},
}

// newPerson adds a person whose public flags suit role and returns their index.
func (g *peopleGen) newPerson(role geo.Role) int {
	rng := g.rng
	i := len(g.people)
	surname := surnames[int(float64(len(surnames))*rng.Float64()*rng.Float64())]
	name := surname + givenNames[rng.IntN(len(givenNames))]
	pub := rolePublicity[role]
	g.people = append(g.people, Person{
		Key: fmt.Sprintf("p%04d", i+1),
		Person: geo.Person{
			Name:        name,
			Phone:       fmt.Sprintf("140%08d", (g.phoneA*uint64(i)+g.phoneB)%phoneSpace),
			PublicName:  true,
			PublicPhone: rng.Float64() < pub.phone,
			PublicPhoto: rng.Float64() < pub.photo,
		},
		PhotoSVG: avatarSVG(surname, name),
	})
	return i
}

func (g *peopleGen) duty(person int, role geo.Role, areaCode, buildingCode string) {
	g.duties = append(g.duties, Duty{
		PersonKey:    g.people[person].Key,
		AreaCode:     areaCode,
		BuildingCode: buildingCode,
		Role:         role,
		ValidFrom:    dutyEpoch.AddDate(0, 0, g.rng.IntN(dutyDays)),
	})
}

// community staffs one community: a police officer and 3–6 volunteers for the
// community; per grid a grid leader, 1–2 grid workers and, in about a third of
// the grids, an information officer; a building leader for about one building
// in four, now and then one of the community's volunteers.
func (g *peopleGen) community(commCode string, gridCodes []string, buildingCodes [][]string) {
	rng := g.rng
	g.duty(g.newPerson(geo.RolePolice), geo.RolePolice, commCode, "")
	volunteers := make([]int, 3+rng.IntN(4))
	for k := range volunteers {
		volunteers[k] = g.newPerson(geo.RoleVolunteer)
		g.duty(volunteers[k], geo.RoleVolunteer, commCode, "")
	}
	for gi, code := range gridCodes {
		g.duty(g.newPerson(geo.RoleGridLeader), geo.RoleGridLeader, code, "")
		for k := 1 + rng.IntN(2); k > 0; k-- {
			g.duty(g.newPerson(geo.RoleGridWorker), geo.RoleGridWorker, code, "")
		}
		if rng.Float64() < 0.35 {
			g.duty(g.newPerson(geo.RoleInfoOfficer), geo.RoleInfoOfficer, code, "")
		}
		for _, bc := range buildingCodes[gi] {
			if rng.Float64() >= 0.25 {
				continue
			}
			p := -1
			if rng.Float64() < 0.1 {
				p = volunteers[rng.IntN(len(volunteers))]
			} else {
				p = g.newPerson(geo.RoleBuildingLeader)
			}
			g.duty(p, geo.RoleBuildingLeader, "", bc)
		}
	}
}

// avatarSVG draws a 128×128 avatar: the surname on a circle whose colour
// derives from the full name.
func avatarSVG(surname, name string) []byte {
	h := fnv.New32a()
	h.Write([]byte(name))
	colour := avatarColours[h.Sum32()%uint32(len(avatarColours))]
	initial := string([]rune(surname)[0])
	var b strings.Builder
	b.WriteString(`<svg xmlns="http://www.w3.org/2000/svg" width="128" height="128" viewBox="0 0 128 128" role="img" aria-label="`)
	b.WriteString(initial)
	b.WriteString(`"><circle cx="64" cy="64" r="64" fill="`)
	b.WriteString(colour)
	b.WriteString(`"/><text x="64" y="64" dy=".35em" text-anchor="middle" font-family="PingFang SC,Microsoft YaHei,Noto Sans CJK SC,sans-serif" font-size="60" fill="#fff">`)
	b.WriteString(initial)
	b.WriteString(`</text></svg>`)
	return []byte(b.String())
}
