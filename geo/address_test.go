package geo

import (
	"fmt"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

// normalizeCases are inputs and their expected NormalizeAddress keys.
var normalizeCases = []struct {
	name, in, want string
}{
	// Numerals and the house-number mark.
	{"chinese numeral 十二号", "幸福路十二号", "幸福路12号"},
	{"arabic house number", "幸福路12号", "幸福路12号"},
	{"full-width digits and 號", "幸福路１２號", "幸福路12号"},
	{"spaced hash", "幸福路 12 #", "幸福路12号"},
	{"full-width hash", "幸福路12＃", "幸福路12号"},
	{"一百零五号", "幸福路一百零五号", "幸福路105号"},
	{"二十号", "幸福路二十号", "幸福路20号"},
	{"十号", "幸福路十号", "幸福路10号"},
	{"两百号", "幸福路两百号", "幸福路200号"},
	{"colloquial 一百二 号", "幸福路一百二号", "幸福路120号"},
	{"positional room 二〇三室", "幸福路1号二〇三室", "幸福路1号203室"},
	{"positional room 二零三室", "幸福路1号二零三室", "幸福路1号203室"},
	{"unit 三单元", "幸福路12号三单元", "幸福路12号3单元"},
	{"floor 五层", "幸福路12号五层", "幸福路12号5层"},
	{"floor 三楼 stays a floor", "幸福路12号三楼", "幸福路12号3楼"},
	{"lane 弄", "康定路一千零二十弄", "康定路1020弄"},
	{"alley 巷", "七星巷十一巷", "七星巷11巷"},
	{"malformed numeral 十十号 left", "幸福路十十号", "幸福路十十号"},
	{"numeral after digit left", "幸福路1十号", "幸福路1十号"},
	{"numerals in names kept 三里屯路", "三里屯路19号", "三里屯路19号"},
	{"numerals in names kept 中山一路", "中山一路1号", "中山一路1号"},
	{"numerals in names kept 一心里", "一心里三号", "一心里3号"},
	{"numeral before 路 kept", "五一路", "五一路"},

	// Building suffixes.
	{"building 号楼", "幸福路12号3号楼", "幸福路12号3栋"},
	{"building 幢", "幸福路12号3幢", "幸福路12号3栋"},
	{"building 三栋", "幸福路12号三栋", "幸福路12号3栋"},
	{"building 座 after digits", "幸福路12号3座", "幸福路12号3栋"},
	{"building hash 楼", "幸福路12号3#楼", "幸福路12号3栋"},
	{"building 座 after a letter kept", "国贸A座", "国贸a座"},
	{"幢 not after digits kept", "一幢楼", "1栋楼"},

	// Whitespace, punctuation and hyphens.
	{"hyphen between digits kept", "幸福路12-3号", "幸福路12-3号"},
	{"full-width hyphen between digits", "幸福路12－3号", "幸福路12-3号"},
	{"em dash between digits", "幸福路12—3号", "幸福路12-3号"},
	{"spaced hyphen between digits", "幸福路12 - 3号", "幸福路12-3号"},
	{"double hyphen collapsed", "幸福路12--3号", "幸福路12-3号"},
	{"hyphen not between digits dropped", "幸福路-12号-", "幸福路12号"},
	{"cjk punctuation removed", "（幸福路）12号，3栋。", "幸福路12号3栋"},
	{"ascii punctuation removed", `"幸福路"/12号;3栋.`, "幸福路12号3栋"},
	{"ideographic space removed", "幸福路\u300012号", "幸福路12号"},
	{"zero width space removed", "幸福路\u200b12号", "幸福路12号"},
	{"middle dot and brackets", "【幸福·路】12号", "幸福路12号"},
	{"tabs and newlines", "幸福路\t12号\n", "幸福路12号"},

	// Region prefixes.
	{"municipality with 市 and 新区", "上海市浦东新区银城中路68号", "银城中路68号"},
	{"bare street", "银城中路68号", "银城中路68号"},
	{"bare municipality and full-width", "上海浦东新区银城中路６８號", "银城中路68号"},
	{"province city district", "浙江省杭州市西湖区文三路8号", "文三路8号"},
	{"city and district", "杭州市余杭区文一西路969号", "文一西路969号"},
	{"district alone before street", "西湖区文三路8号", "文三路8号"},
	{"autonomous region", "内蒙古自治区呼和浩特市新城区新华大街1号", "新华大街1号"},
	{"autonomous region with people", "广西壮族自治区南宁市青秀区民族大道1号", "民族大道1号"},
	{"prefecture 地区", "新疆维吾尔自治区阿克苏地区阿克苏市解放路1号", "解放路1号"},
	{"autonomous prefecture", "吉林省延边朝鲜族自治州延吉市光明街1号", "光明街1号"},
	{"county-level city", "浙江省金华市义乌市稠州北路100号", "稠州北路100号"},
	{"single-rune county", "安徽省马鞍山市和县历阳路1号", "历阳路1号"},
	{"沙市区 is a district", "湖北省荆州市沙市区北京中路1号", "北京中路1号"},
	{"中国 before province", "中国浙江省杭州市西湖区文三路8号", "文三路8号"},
	{"中华人民共和国", "中华人民共和国北京市东城区东长安街1号", "东长安街1号"},
	{"spaced prefixes", "浙江省 杭州市 西湖区 文三路 8 号", "文三路8号"},
	{"吉林省吉林市", "吉林省吉林市船营区北京路1号", "北京路1号"},

	// Street names that look like region names stay whole.
	{"园区路 intact", "园区路8号", "园区路8号"},
	{"新区路 intact", "新区路12号", "新区路12号"},
	{"市场街 intact", "市场街3号", "市场街3号"},
	{"北京路 intact", "北京路12号", "北京路12号"},
	{"西藏中路 intact", "西藏中路18号", "西藏中路18号"},
	{"四川北路 intact", "四川北路1号", "四川北路1号"},
	{"城市花园 intact", "城市花园3栋", "城市花园3栋"},
	{"菜市场 intact", "农贸市场路5号", "农贸市场路5号"},
	{"中国银行 intact", "中国银行大厦3号", "中国银行大厦3号"},
	{"工业园区 number only kept", "工业园区3号", "工业园区3号"},
	{"园区路 after city intact", "杭州市园区路8号", "园区路8号"},
	{"district alone kept", "上海市浦东新区", "浦东新区"},
	{"province alone kept", "上海市", "上海市"},
	{"小区 after city intact", "杭州市幸福小区北区3号楼", "幸福小区北区3栋"},
	{"小区 alone intact", "幸福小区北区3号楼", "幸福小区北区3栋"},
	{"社区 after district intact", "西湖区翠苑社区文三路8号", "翠苑社区文三路8号"},
	{"超市 after city intact", "杭州市华联超市东门3号", "华联超市东门3号"},
	{"市北区 after city", "山东省青岛市市北区辽宁路1号", "辽宁路1号"},
	{"路北区 is a district", "河北省唐山市路北区建设路1号", "建设路1号"},

	// Latin addresses.
	{"latin with diacritics", "Städtle 12, 9490 Vaduz", "städtle129490vaduz"},
	{"full-width latin", "Ｍａｉｎ Ｓｔ. 5", "mainst5"},
	{"latin hyphen between digits", "Rue 12-14", "rue12-14"},

	// Degenerate input.
	{"empty", "", ""},
	{"only punctuation", " ，。 ", ""},
	{"invalid utf-8 dropped", "幸福路\xff\xfe12号", "幸福路12号"},
	{"replacement char dropped", "幸福路\ufffd12号", "幸福路12号"},
}

func TestNormalizeAddress(t *testing.T) {
	for _, c := range normalizeCases {
		t.Run(c.name, func(t *testing.T) {
			if got := NormalizeAddress(c.in); got != c.want {
				t.Errorf("NormalizeAddress(%q): got %q, want %q", c.in, got, c.want)
			}
		})
	}
}

func TestNormalizeAddressIdempotent(t *testing.T) {
	for _, c := range normalizeCases {
		t.Run(c.name, func(t *testing.T) {
			assertNormalizeInvariants(t, c.in)
		})
	}
}

// TestNormalizeAddressSameKey pins spellings that must match each other.
func TestNormalizeAddressSameKey(t *testing.T) {
	groups := []struct {
		name  string
		forms []string
	}{
		{"house number", []string{"幸福路十二号", "幸福路12号", "幸福路１２號", "幸福路 12 #", "幸福路12＃"}},
		{"region prefix", []string{"上海市浦东新区银城中路68号", "银城中路68号", "上海浦东新区银城中路６８號", "中国上海市浦东新区银城中路68號"}},
		{"building", []string{"幸福路12号3号楼", "幸福路12号3幢", "幸福路12号三栋", "幸福路12号3座", "幸福路12号三号楼"}},
	}
	for _, g := range groups {
		t.Run(g.name, func(t *testing.T) {
			want := NormalizeAddress(g.forms[0])
			for _, f := range g.forms[1:] {
				if got := NormalizeAddress(f); got != want {
					t.Errorf("NormalizeAddress(%q): got %q, want %q (as %q)", f, got, want, g.forms[0])
				}
			}
		})
	}
}

func TestStripRegionPrefix(t *testing.T) {
	cases := []struct {
		name, in, want string
	}{
		{"province city district", "广东省深圳市南山区科技园1号", "科技园1号"},
		{"bare province needs a region after it", "广东路1号", "广东路1号"},
		{"leading space", "  上海市黄浦区南京东路1号", "南京东路1号"},
		{"league 盟", "内蒙古自治区锡林郭勒盟锡林浩特市额尔敦路1号", "额尔敦路1号"},
		{"autonomous county", "湖北省宜昌市长阳土家族自治县龙舟大道1号", "龙舟大道1号"},
		{"new district alone", "滨海新区", "滨海新区"},
		{"new district before a name", "滨海新区泰达广场", "泰达广场"},
		{"spaced single-rune county", "马鞍山市 和县 历阳路1号", "历阳路1号"},
		{"spaced 园区 after city kept", "杭州市 园区 路8号", "园区 路8号"},
		{"no prefix", "文三路8号", "文三路8号"},
		{"not an address", "hello", "hello"},
		{"invalid utf-8", "\xff上海市\xfe", "\xff上海市\xfe"},
		{"empty", "", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := StripRegionPrefix(c.in); got != c.want {
				t.Errorf("StripRegionPrefix(%q): got %q, want %q", c.in, got, c.want)
			}
		})
	}
}

func TestParseChineseNumber(t *testing.T) {
	cases := []struct {
		in, want string
		ok       bool
	}{
		{"十", "10", true}, {"十二", "12", true}, {"二十", "20", true}, {"二十五", "25", true},
		{"一百", "100", true}, {"一百零五", "105", true}, {"一百一十五", "115", true}, {"一百二", "120", true},
		{"两千零二十", "2020", true}, {"三千五", "3500", true}, {"九千九百九十九", "9999", true},
		{"三", "3", true}, {"一〇五", "105", true}, {"〇一", "01", true},
		{"十十", "", false}, {"百", "", false}, {"一二十", "", false}, {"十百", "", false},
	}
	for _, c := range cases {
		t.Run(c.in, func(t *testing.T) {
			got, ok := parseChineseNumber([]rune(c.in))
			if got != c.want || ok != c.ok {
				t.Errorf("got %q %v, want %q %v", got, ok, c.want, c.ok)
			}
		})
	}
}

func TestFormatAddress(t *testing.T) {
	cases := []struct {
		name                                string
		street, housenumber, postcode, city string
		want                                string
	}{
		{"chinese", "银城中路", "68", "200120", "上海市", "银城中路68号"},
		{"chinese number already has 号", "银城中路", "68号", "", "", "银城中路68号"},
		{"chinese lane", "康定路", "1020弄", "", "", "康定路1020弄"},
		{"chinese range", "幸福路", "12-3", "", "", "幸福路12-3号"},
		{"chinese no number", "银城中路", "", "", "", "银城中路"},
		{"han only in number", "", "六十八号", "", "", "六十八号"},
		{"latin full", "Städtle", "12", "9490", "Vaduz", "Städtle 12, 9490 Vaduz"},
		{"latin street only", "Städtle", "12", "", "", "Städtle 12"},
		{"latin no street", "", "12", "", "Vaduz", "12, Vaduz"},
		{"latin no number", "Städtle", "", "9490", "", "Städtle, 9490"},
		{"latin trimmed", " Städtle ", " 12 ", "", " Vaduz ", "Städtle 12, Vaduz"},
		{"all empty", "", "", "", "", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := FormatAddress(c.street, c.housenumber, c.postcode, c.city); got != c.want {
				t.Errorf("got %q, want %q", got, c.want)
			}
		})
	}
}

// assertNormalizeInvariants checks what NormalizeAddress promises for any
// input: valid UTF-8, no whitespace, idempotence.
func assertNormalizeInvariants(t *testing.T, in string) {
	t.Helper()
	got := NormalizeAddress(in)
	if !utf8.ValidString(got) {
		t.Fatalf("NormalizeAddress(%q) = %q: invalid UTF-8", in, got)
	}
	if i := strings.IndexFunc(got, unicode.IsSpace); i >= 0 {
		t.Fatalf("NormalizeAddress(%q) = %q: whitespace at byte %d", in, got, i)
	}
	if again := NormalizeAddress(got); again != got {
		t.Fatalf("NormalizeAddress not idempotent for %q: got %q, want %q", in, again, got)
	}
}

func FuzzNormalizeAddress(f *testing.F) {
	seeds := []string{
		"幸福路十二号",
		"幸福路１２號",
		"幸福路 12 #",
		"上海市浦东新区银城中路68号",
		"上海浦东新区银城中路６８號",
		"幸福路12号3号楼",
		"幸福路12号三单元二〇三室",
		"浙江省杭州市西湖区文三路8号",
		"园区路8号",
		"新区路12号",
		"市场街3号",
		"Städtle 12, 9490 Vaduz",
		"幸福路12－3号",
		"一百零五号楼十十号",
		"\xff\xfe",
		"中国\u3000北京市 朝阳区——1-2-3",
		"上海市上海市上海市",
	}
	for _, s := range seeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		assertNormalizeInvariants(t, in)
	})
}

func ExampleNormalizeAddress() {
	fmt.Println(NormalizeAddress("上海市浦东新区银城中路６８號"))
	fmt.Println(NormalizeAddress("幸福路十二号三号楼"))
	// Output:
	// 银城中路68号
	// 幸福路12号3栋
}
