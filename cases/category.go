package cases

import (
	_ "embed"
	"encoding/csv"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"gridmap/calendar"
)

// Group is a category group, in the style of the 数字城管 standards.
type Group string

// Groups, with their Chinese names in GroupNames.
const (
	GroupCityAppearance   Group = "city_appearance"   // 市容环境
	GroupPublicFacilities Group = "public_facilities" // 公用设施
	GroupRoadsTraffic     Group = "roads_traffic"     // 道路交通
	GroupGreening         Group = "greening"          // 园林绿化
	GroupHousingLand      Group = "housing_land"      // 房屋土地
	GroupDisputes         Group = "disputes"          // 矛盾纠纷
	GroupSafety           Group = "safety"            // 安全隐患
	GroupLivelihood       Group = "livelihood"        // 民生服务
	GroupOther            Group = "other"             // 其他
)

// GroupNames maps each group to its Chinese name.
var GroupNames = map[Group]string{
	GroupCityAppearance: "市容环境", GroupPublicFacilities: "公用设施", GroupRoadsTraffic: "道路交通",
	GroupGreening: "园林绿化", GroupHousingLand: "房屋土地", GroupDisputes: "矛盾纠纷", GroupSafety: "安全隐患",
	GroupLivelihood: "民生服务", GroupOther: "其他",
}

// LimitUnit is the unit of a deadline.
type LimitUnit string

// Limit units.
const (
	WorkingHours LimitUnit = "h" // working hours (calendar.AddWorkingHours)
	WorkingDays  LimitUnit = "d" // working days, ending at close of office (calendar.AddWorkingDays)
)

// Limit is a time limit in working hours or working days.
type Limit struct {
	Amount int
	Unit   LimitUnit
}

// String formats l as written in the catalogue: "4h", "7d".
func (l Limit) String() string { return strconv.Itoa(l.Amount) + string(l.Unit) }

// DueFrom returns the deadline l after t on cal (Asia/Shanghai).
func (l Limit) DueFrom(cal *calendar.Calendar, t time.Time) time.Time {
	if l.Unit == WorkingDays {
		return cal.AddWorkingDays(t, l.Amount)
	}
	return cal.AddWorkingHours(t, l.Amount)
}

// ParseLimit parses "4h" (working hours) or "7d" (working days).
func ParseLimit(s string) (Limit, error) {
	s = strings.TrimSpace(s)
	if len(s) < 2 {
		return Limit{}, fmt.Errorf("limit %q: want a number of working hours or days, e.g. 4h or 7d", s)
	}
	u := LimitUnit(s[len(s)-1:])
	n, err := strconv.Atoi(s[:len(s)-1])
	if err != nil || (u != WorkingHours && u != WorkingDays) {
		return Limit{}, fmt.Errorf("limit %q: want a number of working hours or days, e.g. 4h or 7d", s)
	}
	if n <= 0 {
		return Limit{}, fmt.Errorf("limit %q must be positive", s)
	}
	return Limit{Amount: n, Unit: u}, nil
}

// Step is one stage of handling with its own deadline (illegal construction:
// stop within 4 working hours, penalty within 7 working days, removal within 20).
type Step struct {
	Zh, En string
	Limit  Limit
}

// Category is a kind of case with its handling rules.
type Category struct {
	Code          string
	Group         Group
	Zh, En        string
	Tier          Tier     // the tier that handles it by default
	Unit          UnitKind // the kind of unit that handles it
	PhotoOnHandle bool     // the handler must attach a photo when reporting it handled
	Steps         []Step   // at least one; each stage's deadline runs from the end of the one before
	Closing       string   // 结案条件, the condition for closing, in Chinese
}

// Catalogue is a set of categories by code.
type Catalogue struct {
	list   []Category
	byCode map[string]int
}

//go:embed catalogue.csv
var defaultCatalogue string

// DefaultCatalogue returns the embedded catalogue (catalogue.csv). It panics
// if the embedded file is invalid, which a test rules out.
func DefaultCatalogue() *Catalogue {
	c, err := ParseCatalogue(strings.NewReader(defaultCatalogue))
	if err != nil {
		panic("cases: embedded catalogue: " + err.Error())
	}
	return c
}

var catalogueHeader = []string{"code", "group", "zh", "en", "tier", "unit", "photo_on_handle", "steps", "closing"}

// ParseCatalogue reads categories from CSV with the header of catalogue.csv.
// Steps are written "制止/stop:4h;立案处罚/penalty:7d". Every category is
// validated (Category.Validate) and codes must be unique; errors name the line.
func ParseCatalogue(r io.Reader) (*Catalogue, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = len(catalogueHeader)
	head, err := cr.Read()
	if err != nil {
		return nil, fmt.Errorf("catalogue header: %w", err)
	}
	if strings.Join(head, ",") != strings.Join(catalogueHeader, ",") {
		return nil, fmt.Errorf("catalogue header is %q, want %q", strings.Join(head, ","), strings.Join(catalogueHeader, ","))
	}
	cat := &Catalogue{byCode: map[string]int{}}
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("catalogue: %w", err)
		}
		line, _ := cr.FieldPos(0)
		c, err := parseCategory(rec)
		if err == nil {
			err = c.Validate()
		}
		if err != nil {
			return nil, fmt.Errorf("catalogue line %d: %w", line, err)
		}
		if prev, ok := cat.byCode[c.Code]; ok {
			return nil, fmt.Errorf("catalogue line %d: code %q is already used by %s", line, c.Code, cat.list[prev].Zh)
		}
		cat.byCode[c.Code] = len(cat.list)
		cat.list = append(cat.list, c)
	}
	return cat, nil
}

func parseCategory(rec []string) (Category, error) {
	tier, err := strconv.Atoi(rec[4])
	if err != nil {
		return Category{}, fmt.Errorf("tier %q is not a number 1–3", rec[4])
	}
	photo, err := strconv.ParseBool(rec[6])
	if err != nil {
		return Category{}, fmt.Errorf("photo_on_handle %q: want true or false", rec[6])
	}
	c := Category{Code: rec[0], Group: Group(rec[1]), Zh: rec[2], En: rec[3], Tier: Tier(tier),
		Unit: UnitKind(rec[5]), PhotoOnHandle: photo, Closing: rec[8]}
	for _, s := range strings.Split(rec[7], ";") {
		names, lim, ok := strings.Cut(s, ":")
		zh, en, ok2 := strings.Cut(names, "/")
		if !ok || !ok2 {
			return Category{}, fmt.Errorf("step %q: want 名称/name:limit, e.g. 制止/stop:4h", s)
		}
		l, err := ParseLimit(lim)
		if err != nil {
			return Category{}, fmt.Errorf("step %q: %w", s, err)
		}
		c.Steps = append(c.Steps, Step{Zh: zh, En: en, Limit: l})
	}
	return c, nil
}

// Validate checks a category: a code of lower-case letters, digits and _,
// both names, a known group, unit kind and default tier (1–3: the district
// is reached only by escalation), at least one step, each with both names
// and a positive limit, and a closing condition.
func (c Category) Validate() error {
	if c.Code == "" || strings.Trim(c.Code, "abcdefghijklmnopqrstuvwxyz0123456789_") != "" {
		return fmt.Errorf("code %q: use lower-case letters, digits and _", c.Code)
	}
	if strings.TrimSpace(c.Zh) == "" || strings.TrimSpace(c.En) == "" {
		return fmt.Errorf("%s: both the Chinese and the English name are needed", c.Code)
	}
	if _, ok := GroupNames[c.Group]; !ok {
		return fmt.Errorf("%s: unknown group %q", c.Code, c.Group)
	}
	if !c.Unit.Valid() {
		return fmt.Errorf("%s: unknown unit kind %q", c.Code, c.Unit)
	}
	if c.Tier < TierGrid || c.Tier > TierSubdistrict {
		return fmt.Errorf("%s: default tier must be 1 (grid), 2 (community) or 3 (subdistrict), got %d", c.Code, c.Tier)
	}
	if len(c.Steps) == 0 {
		return fmt.Errorf("%s: at least one step with a deadline is needed", c.Code)
	}
	for i, s := range c.Steps {
		if s.Zh == "" || s.En == "" {
			return fmt.Errorf("%s: step %d needs both names", c.Code, i+1)
		}
		if s.Limit.Amount <= 0 || (s.Limit.Unit != WorkingHours && s.Limit.Unit != WorkingDays) {
			return fmt.Errorf("%s: step %d (%s) needs a positive limit in working hours or days, got %s", c.Code, i+1, s.Zh, s.Limit)
		}
	}
	if strings.TrimSpace(c.Closing) == "" {
		return fmt.Errorf("%s: the closing condition (结案条件) is needed", c.Code)
	}
	return nil
}

// Categories returns every category in catalogue order.
func (c *Catalogue) Categories() []Category { return append([]Category(nil), c.list...) }

// Category returns the category with code.
func (c *Catalogue) Category(code string) (Category, bool) {
	i, ok := c.byCode[code]
	if !ok {
		return Category{}, false
	}
	return c.list[i], true
}
