package geo

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// NormalizeAddress returns the matching key of an address: the form stored
// beside every building address (Building.AddressNorm) and computed for every
// query, so that spellings of the same address compare equal.
//
// It folds full-width ASCII and the ideographic space to ASCII, lower-cases
// letters, turns 號 and # into 号, writes Chinese numerals in house, building,
// unit, room and floor numbers as digits (十二号 → 12号), writes the building
// suffixes N号楼, N幢 and N座 as N栋, removes whitespace, punctuation,
// symbols and control characters (a hyphen between two digits is kept as
// "-"), and drops leading region prefixes with StripRegionPrefix. Letters
// with diacritics are kept as they are.
//
// NormalizeAddress never panics, drops invalid UTF-8 bytes, returns valid
// UTF-8 without whitespace, and is idempotent:
// NormalizeAddress(NormalizeAddress(s)) == NormalizeAddress(s).
func NormalizeAddress(s string) string {
	rs := foldRunes(s)
	rs = resolveHyphens(rs)
	rs = convertChineseNumerals(rs)
	rs = normalizeBuildingSuffixes(rs)
	return StripRegionPrefix(string(rs))
}

// hyphen stands for any dash while folding; resolveHyphens keeps it only
// between two digits.
const hyphen = '-'

// foldRunes decodes s, dropping invalid bytes, folds width and case, maps
// 號 and # to 号 and every dash to hyphen, and removes whitespace,
// punctuation, symbols and control and format characters.
func foldRunes(s string) []rune {
	out := make([]rune, 0, len(s))
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		i += size
		if r == utf8.RuneError && size <= 1 {
			continue // invalid byte
		}
		switch {
		case r >= 0xFF01 && r <= 0xFF5E: // full-width ASCII
			r -= 0xFF01 - 0x21
		case r == 0x3000: // ideographic space
			r = ' '
		}
		switch {
		case r == '號' || r == '#':
			out = append(out, '号')
		case isDash(r):
			out = append(out, hyphen)
		case unicode.IsSpace(r) || unicode.In(r, unicode.Z, unicode.Cc, unicode.Cf, unicode.P, unicode.S):
			// dropped
		default:
			out = append(out, unicode.ToLower(r))
		}
	}
	return out
}

// isDash reports whether r is a hyphen or dash that may join two numbers,
// as in 12-3 (full-width － is folded to '-' before this is asked).
func isDash(r rune) bool {
	switch r {
	case '-', '\u2010', '\u2011', '\u2012', '\u2013', '\u2014', '\u2015', '\u2212', '\uFE58', '\uFE63':
		return true
	}
	return false
}

func isDigit(r rune) bool { return r >= '0' && r <= '9' }

// resolveHyphens collapses runs of hyphens to one and keeps it only when
// it stands between two ASCII digits.
func resolveHyphens(rs []rune) []rune {
	out := rs[:0]
	for i := 0; i < len(rs); i++ {
		if rs[i] != hyphen {
			out = append(out, rs[i])
			continue
		}
		j := i
		for j < len(rs) && rs[j] == hyphen {
			j++
		}
		if len(out) > 0 && isDigit(out[len(out)-1]) && j < len(rs) && isDigit(rs[j]) {
			out = append(out, hyphen)
		}
		i = j - 1
	}
	return out
}

// chineseDigit maps the Chinese numeral digits to their values.
var chineseDigit = map[rune]int{
	'零': 0, '〇': 0, '一': 1, '二': 2, '两': 2, '三': 3, '四': 4,
	'五': 5, '六': 6, '七': 7, '八': 8, '九': 9,
}

// chineseUnit maps the Chinese numeral units to their values.
var chineseUnit = map[rune]int{'十': 10, '百': 100, '千': 1000}

func isChineseNumeral(r rune) bool {
	_, d := chineseDigit[r]
	_, u := chineseUnit[r]
	return d || u
}

// numberMarkerAt reports whether rs[i:] starts with a word that follows a
// house, building, unit, room or floor number: 号 栋 幢 座 单元 室 层 楼 弄 巷.
func numberMarkerAt(rs []rune, i int) bool {
	if i >= len(rs) {
		return false
	}
	switch rs[i] {
	case '号', '栋', '幢', '座', '室', '层', '楼', '弄', '巷':
		return true
	case '单':
		return i+1 < len(rs) && rs[i+1] == '元'
	}
	return false
}

// convertChineseNumerals writes a run of Chinese numerals that directly
// precedes a number marker (numberMarkerAt) as Arabic digits. A run right
// after an ASCII digit, or one that is not a well-formed number, is left
// alone.
func convertChineseNumerals(rs []rune) []rune {
	var out []rune
	start := 0 // first rune of rs not yet copied to out
	for i := 0; i < len(rs); {
		if !isChineseNumeral(rs[i]) {
			i++
			continue
		}
		j := i
		for j < len(rs) && isChineseNumeral(rs[j]) {
			j++
		}
		if numberMarkerAt(rs, j) && (i == 0 || !isDigit(rs[i-1])) {
			if digits, ok := parseChineseNumber(rs[i:j]); ok {
				out = append(out, rs[start:i]...)
				out = append(out, []rune(digits)...)
				start = j
			}
		}
		i = j
	}
	if out == nil {
		return rs
	}
	return append(out, rs[start:]...)
}

// parseChineseNumber returns the decimal digits of a Chinese numeral:
// positional (一〇五 → 105, 二零三 → 203) when it has no units, otherwise
// with units 十 百 千 (十二 → 12, 一百零五 → 105, 两百 → 200, and the
// colloquial 一百二 → 120). ok is false for malformed input such as 十十.
func parseChineseNumber(rs []rune) (digits string, ok bool) {
	hasUnit := false
	for _, r := range rs {
		if _, u := chineseUnit[r]; u {
			hasUnit = true
			break
		}
	}
	if !hasUnit {
		var b strings.Builder
		for _, r := range rs {
			b.WriteByte(byte('0' + chineseDigit[r]))
		}
		return b.String(), true
	}
	total, cur, lastUnit, afterZero := 0, -1, 10000, false
	for _, r := range rs {
		if u, isUnit := chineseUnit[r]; isUnit {
			if u >= lastUnit {
				return "", false
			}
			if cur < 0 {
				if u != 10 {
					return "", false // 百 and 千 need a digit before them
				}
				cur = 1 // 十二 is 12
			}
			total += cur * u
			cur, lastUnit, afterZero = -1, u, false
			continue
		}
		d := chineseDigit[r]
		if cur >= 0 {
			return "", false // two digits in a row, e.g. 一二十
		}
		if d == 0 {
			afterZero = true
			continue
		}
		cur = d
	}
	if cur >= 0 {
		if !afterZero && lastUnit >= 100 && lastUnit < 10000 {
			total += cur * lastUnit / 10 // 一百二 is 120, 三千五 is 3500
		} else {
			total += cur
		}
	}
	var buf [8]byte
	i := len(buf)
	for {
		i--
		buf[i] = byte('0' + total%10)
		total /= 10
		if total == 0 {
			break
		}
	}
	return string(buf[i:]), true
}

// normalizeBuildingSuffixes writes N号楼, N幢 and N座 as N栋 when N ends in
// an ASCII digit.
func normalizeBuildingSuffixes(rs []rune) []rune {
	out := rs[:0]
	for i := 0; i < len(rs); i++ {
		afterDigit := len(out) > 0 && isDigit(out[len(out)-1])
		switch {
		case afterDigit && rs[i] == '号' && i+1 < len(rs) && rs[i+1] == '楼':
			out = append(out, '栋')
			i++
		case afterDigit && (rs[i] == '幢' || rs[i] == '座'):
			out = append(out, '栋')
		default:
			out = append(out, rs[i])
		}
	}
	return out
}

// province is a province-level division (省级行政区): its short name and
// the suffixes its full name may carry.
type province struct {
	name     string
	suffixes []string // longest first
}

// provinces are the 34 province-level divisions.
var provinces = []province{
	{"北京", []string{"市"}}, {"天津", []string{"市"}}, {"上海", []string{"市"}}, {"重庆", []string{"市"}},
	{"河北", []string{"省"}}, {"山西", []string{"省"}}, {"辽宁", []string{"省"}}, {"吉林", []string{"省"}},
	{"黑龙江", []string{"省"}}, {"江苏", []string{"省"}}, {"浙江", []string{"省"}}, {"安徽", []string{"省"}},
	{"福建", []string{"省"}}, {"江西", []string{"省"}}, {"山东", []string{"省"}}, {"河南", []string{"省"}},
	{"湖北", []string{"省"}}, {"湖南", []string{"省"}}, {"广东", []string{"省"}}, {"海南", []string{"省"}},
	{"四川", []string{"省"}}, {"贵州", []string{"省"}}, {"云南", []string{"省"}}, {"陕西", []string{"省"}},
	{"甘肃", []string{"省"}}, {"青海", []string{"省"}}, {"台湾", []string{"省"}},
	{"内蒙古", []string{"自治区"}},
	{"广西", []string{"壮族自治区", "自治区"}},
	{"西藏", []string{"自治区"}},
	{"宁夏", []string{"回族自治区", "自治区"}},
	{"新疆", []string{"维吾尔自治区", "自治区"}},
	{"香港", []string{"特别行政区"}}, {"澳门", []string{"特别行政区"}},
}

// roadRunes are runes that, right after a two-rune candidate district such
// as 园区 or 新区, show that it is the start of a street name (园区路, 新区大道).
const roadRunes = "路街道巷弄里胡大桥港湾口场东西南北中环"

// streetRunes end street names and numbers; a city or district name never
// has one after its first rune (路北区 and 路桥区 start with 路).
const streetRunes = "路街巷弄号"

// placeBeforeQu are runes that, before 区, make a place within a community
// rather than a district: 小区 (housing estate), 社区, 校区, 厂区, 景区, 片区,
// 住宅区, 生活区, 家属区, 宿舍区, 服务区, 园区, 院区.
const placeBeforeQu = "小社校厂景片宅活属舍务园院"

// marketBeforeShi are runes that, before 市, make a market rather than a
// city: 超市, 菜市, 夜市, 早市.
const marketBeforeShi = "超菜夜早"

// StripRegionPrefix drops the optional region prefixes that lead a Chinese
// address: 中华人民共和国 (中国 only when a province, city or district name
// follows, so 中国银行 stays), then a province-level name (上海市, 上海,
// 广东省, 内蒙古自治区; the bare name only when a city or district follows,
// so 北京路 and 西藏中路 stay), then a city
// (杭州市, 阿克苏地区, 延边朝鲜族自治州, 锡林郭勒盟), then a district or county
// (浦东新区, 西湖区, 余杭区, 义乌市, 和县).
//
// It is conservative: a city or district that does not follow a province or
// city is dropped only when it has at least three runes and either ends in
// 新区 or is followed by a street and number (a digit with at least two
// runes before it), so 园区路8号, 新区路12号 and 市场街3号 stay whole. It
// repeats until nothing more can be dropped, and never drops everything.
//
// s is expected in NormalizeAddress form (no punctuation); whitespace
// between prefixes is skipped. Non-address input is returned unchanged.
func StripRegionPrefix(s string) string {
	s = strings.TrimSpace(s)
	// Decode by hand rather than with []rune(s) so that the result is a
	// substring of s, invalid bytes included.
	rs := make([]rune, 0, len(s))
	pos := make([]int, 0, len(s)+1) // byte offset in s of each rune
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		rs = append(rs, r)
		pos = append(pos, i)
		i += size
	}
	pos = append(pos, len(s))
	// digitAt[i] is the index of the first ASCII digit at or after i, or
	// len(rs).
	digitAt := make([]int, len(rs)+1)
	digitAt[len(rs)] = len(rs)
	for i := len(rs) - 1; i >= 0; i-- {
		if isDigit(rs[i]) {
			digitAt[i] = i
		} else {
			digitAt[i] = digitAt[i+1]
		}
	}
	off := 0
	for {
		n := stripOnce(rs[off:], digitAt[off:], off)
		if n == 0 {
			break
		}
		off += n
	}
	return s[pos[off]:]
}

// stripOnce returns how many leading runes of rs form region prefixes that
// may be dropped. digitAt holds absolute indices offset by base.
func stripOnce(rs []rune, digitAt []int, base int) int {
	skipSpace := func(i int) int {
		for i < len(rs) && unicode.IsSpace(rs[i]) {
			i++
		}
		return i
	}
	// streetFollows reports whether rs[i:] has a digit with at least two
	// runes before it, as in 文三路8号.
	streetFollows := func(i int) bool {
		d := digitAt[i] - base
		return d < len(rs) && d-i >= 2
	}
	i := 0
	afterRegion := false

	if p, ok := hasPrefixRunes(rs, "中华人民共和国"); ok && p < len(rs) {
		i = skipSpace(p)
	} else if p, ok := hasPrefixRunes(rs, "中国"); ok {
		q := skipSpace(p)
		if _, _, found := provinceAt(rs[q:]); found || cityAt(rs[q:]) > 0 || districtAt(rs[q:]) > 0 {
			i = q
		}
	}

	// Province.
	if n, suffixed, found := provinceAt(rs[i:]); found {
		q := skipSpace(i + n)
		rest := rs[q:]
		if suffixed || cityAt(rest) > 0 || districtAt(rest) > 0 {
			if q < len(rs) {
				i, afterRegion = q, true
			}
		}
	}

	// City.
	if n := cityAt(rs[i:]); n > 0 {
		q := skipSpace(i + n)
		rest := rs[q:]
		if q < len(rs) && (afterRegion || districtAt(rest) > 0 || streetFollows(q)) {
			i, afterRegion = q, true
		}
	}

	// District or county.
	if n := districtAt(rs[i:]); n > 0 {
		q := skipSpace(i + n)
		ok := false
		switch {
		case q >= len(rs):
		case n == 2:
			ok = afterRegion && !strings.ContainsRune(roadRunes, rs[q])
		case afterRegion:
			ok = true
		default:
			ok = endsWithRunes(rs[i:i+n], "新区") || streetFollows(q)
		}
		if ok {
			i = q
		}
	}
	return i
}

// hasPrefixRunes reports whether rs starts with prefix, and its length in
// runes.
func hasPrefixRunes(rs []rune, prefix string) (int, bool) {
	n := 0
	for _, r := range prefix {
		if n >= len(rs) || rs[n] != r {
			return 0, false
		}
		n++
	}
	return n, true
}

func endsWithRunes(rs []rune, suffix string) bool {
	ss := []rune(suffix)
	if len(ss) > len(rs) {
		return false
	}
	for i := range ss {
		if rs[len(rs)-len(ss)+i] != ss[i] {
			return false
		}
	}
	return true
}

// provinceAt matches a province-level name at the start of rs and returns
// its length in runes and whether it carried its suffix (上海市, not 上海).
func provinceAt(rs []rune) (n int, suffixed, found bool) {
	for _, p := range provinces {
		m, ok := hasPrefixRunes(rs, p.name)
		if !ok {
			continue
		}
		for _, suf := range p.suffixes {
			if k, ok := hasPrefixRunes(rs[m:], suf); ok {
				return m + k, true, true
			}
		}
		return m, false, true
	}
	return 0, false, false
}

// cityAt returns the length in runes of a prefecture-level name at the start
// of rs — 3 to 6 Han runes ending in 市 (杭州市), up to 8 ending in 地区, up to
// 12 ending in 自治州, or 3 to 6 ending in 盟 — or 0. 城市 (too short), 菜市场
// (市场) and 沙市区 (a district) are not cities.
func cityAt(rs []rune) int {
	for i := 0; i < len(rs) && i < 12; i++ {
		r := rs[i]
		if !unicode.Is(unicode.Han, r) {
			return 0
		}
		if i > 0 && strings.ContainsRune(streetRunes, r) {
			return 0
		}
		n := i + 1
		switch r {
		case '市':
			if i+1 < len(rs) && (rs[i+1] == '场' || rs[i+1] == '区' || rs[i+1] == '县') {
				return 0
			}
			if i > 0 && strings.ContainsRune(marketBeforeShi, rs[i-1]) {
				return 0 // 华联超市
			}
			if n >= 3 && n <= 6 {
				return n
			}
			return 0
		case '区':
			if n >= 3 && n <= 8 && rs[i-1] == '地' {
				return n
			}
			return 0
		case '州':
			if n >= 4 && endsWithRunes(rs[:n], "自治州") {
				return n
			}
		case '盟':
			if n >= 3 && n <= 6 {
				return n
			}
			return 0
		case '省', '县', '旗':
			return 0
		}
	}
	return 0
}

// districtAt returns the length in runes of a county-level name at the
// start of rs — 2 to 6 Han runes ending in 区, 县, 旗 or 市 (西湖区, 浦东新区,
// 义乌市, 和县), or up to 10 ending in 自治县 or 自治旗 — or 0.
func districtAt(rs []rune) int {
	for i := 0; i < len(rs) && i < 10; i++ {
		r := rs[i]
		if !unicode.Is(unicode.Han, r) {
			return 0
		}
		if i > 0 && strings.ContainsRune(streetRunes, r) {
			return 0
		}
		n := i + 1
		switch r {
		case '市':
			if i+1 < len(rs) && rs[i+1] == '场' {
				return 0 // 市场
			}
			if i == 0 || i+1 < len(rs) && (rs[i+1] == '区' || rs[i+1] == '县') {
				continue // 市北区, 沙市区
			}
			fallthrough
		case '区', '县', '旗':
			if i == 0 {
				return 0 // 区府路
			}
			if r == '区' && strings.ContainsRune(placeBeforeQu, rs[i-1]) {
				return 0 // 幸福小区, 翠苑社区, 科技园区
			}
			if r == '市' && strings.ContainsRune(marketBeforeShi, rs[i-1]) {
				return 0 // 华联超市
			}
			if n <= 6 || endsWithRunes(rs[:n], "自治县") || endsWithRunes(rs[:n], "自治旗") {
				return n
			}
			return 0
		case '省', '盟':
			return 0
		}
	}
	return 0
}

// FormatAddress builds a display address from OSM-style parts
// (addr:street, addr:housenumber, addr:postcode, addr:city). When street or
// housenumber contains Han characters it is Chinese style, street then
// number then 号 (银城中路 + 68 → 银城中路68号; no 号 is added when the number
// already ends in a Han character such as 号 or 弄); otherwise it is Latin
// style, "street housenumber, postcode city" with empty parts left out
// ("Städtle 12, 9490 Vaduz", "Städtle 12", "12, Vaduz"). Parts are trimmed of
// surrounding space; all empty gives "".
func FormatAddress(street, housenumber, postcode, city string) string {
	street = strings.TrimSpace(street)
	housenumber = strings.TrimSpace(housenumber)
	postcode = strings.TrimSpace(postcode)
	city = strings.TrimSpace(city)

	if containsHan(street) || containsHan(housenumber) {
		if housenumber == "" {
			return street
		}
		last, _ := utf8.DecodeLastRuneInString(housenumber)
		if unicode.Is(unicode.Han, last) {
			return street + housenumber
		}
		return street + housenumber + "号"
	}
	return joinNonEmpty(", ", joinNonEmpty(" ", street, housenumber), joinNonEmpty(" ", postcode, city))
}

func containsHan(s string) bool {
	for _, r := range s {
		if unicode.Is(unicode.Han, r) {
			return true
		}
	}
	return false
}

func joinNonEmpty(sep string, parts ...string) string {
	var kept []string
	for _, p := range parts {
		if p != "" {
			kept = append(kept, p)
		}
	}
	return strings.Join(kept, sep)
}
