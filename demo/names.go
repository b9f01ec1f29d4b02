package demo

import (
	"fmt"
	"strconv"
)

// placeStems are two-character stems for subdistrict, community and street
// names. They are generic, fictional-sounding names of the kind found in any
// Chinese city. The first six name the default communities.
var placeStems = []string{
	"幸福", "和平", "建设", "光明", "友谊", "团结", "新华", "人民", "解放", "东风",
	"红旗", "胜利", "长安", "复兴", "朝阳", "青山", "绿洲", "滨河", "城东", "城西",
	"城南", "城北", "东湖", "南湖", "北湖", "金山", "银山", "云台", "江南", "江北",
	"河东", "河西", "新城", "文化", "振兴", "和谐", "安康", "永安", "长兴", "兴隆",
	"丰收", "前进", "先锋", "春晖", "秀水", "翠竹", "桂花", "梅园", "兰亭", "松林",
	"柳岸", "荷塘", "杏花", "桃源", "芳草", "星光", "月湖", "明珠", "锦绣", "华庭",
	"嘉园", "景苑", "清泉", "碧水", "紫荆", "玉兰", "丹桂", "金桥", "银杏", "双桥",
	"三里", "五里", "七星", "九龙", "龙泉", "凤凰", "鹿鸣", "白鹭", "新安", "新民",
	"新风", "新兴", "东升", "西园", "南苑", "北苑", "中山", "北门", "南门", "东门",
	"西门", "学府", "书香", "文苑", "育才", "华丰", "利民", "惠民", "康乐", "福寿",
}

// communityVariants extend placeStems when a district has more communities
// than stems: 幸福社区, …, 幸福花园社区, …, 幸福一区社区, ….
var communityVariants = []string{
	"", "花园", "新村", "家园", "新苑", "东苑", "西苑", "南苑", "北苑",
	"一区", "二区", "三区", "四区", "五区", "六区", "七区", "八区", "九区", "十区",
}

// subdistrictName returns the name of the i-th subdistrict (0-based), e.g. 幸福街道.
func subdistrictName(i int) string {
	return placeStems[i%len(placeStems)] + "街道"
}

// communityName returns the name of the i-th community of the district
// (0-based), unique within the district, e.g. 幸福社区, 幸福花园社区.
func communityName(i int) string {
	stem := placeStems[i%len(placeStems)]
	v := i / len(placeStems)
	if v < len(communityVariants) {
		return stem + communityVariants[v] + "社区"
	}
	// 幸福十区社区 is followed by 幸福11区社区.
	return stem + strconv.Itoa(v-len(communityVariants)+11) + "区社区"
}

// gridName returns e.g. 幸福社区第03网格.
func gridName(community string, seq int) string {
	return fmt.Sprintf("%s第%02d网格", community, seq)
}

// baseStreets are the road names of the default dataset.
var baseStreets = []string{
	"幸福路", "和平街", "建设路", "解放路", "人民路", "文三路", "学院路", "春晖巷", "中山路", "新华路",
	"胜利街", "光明路", "友谊路", "团结街", "长安路", "朝阳路", "复兴路", "青年路", "工人路", "东风路",
	"红旗路", "花园街", "育才路", "书院巷", "梧桐巷", "桂花巷", "体育场路", "环城北路", "滨河路", "湖畔街",
}

// streetTypes combine with placeStems to make more road names for large datasets.
var streetTypes = []string{"路", "街", "巷", "东路", "西路", "南路", "北路", "大道", "一路", "二路", "三路", "弄"}

// streetPool returns n distinct road names (n ≥ 30): baseStreets first, then
// generated ones such as 新华东路. n is capped at the number of names available.
func streetPool(n int) []string {
	pool := make([]string, 0, n)
	seen := make(map[string]bool, n)
	for _, s := range baseStreets {
		pool = append(pool, s)
		seen[s] = true
	}
	for _, t := range streetTypes {
		for _, stem := range placeStems {
			if len(pool) >= n {
				return pool[:n]
			}
			s := stem + t
			if !seen[s] {
				pool = append(pool, s)
				seen[s] = true
			}
		}
	}
	if len(pool) > n {
		pool = pool[:n]
	}
	return pool
}

// maxStreets is the size of the largest street pool streetPool can make.
var maxStreets = len(baseStreets) + len(streetTypes)*len(placeStems)

// compoundNames are residential compound (小区) names; a community reuses them
// with a phase suffix (二期, 三期, …) once they run out.
var compoundNames = []string{
	"阳光小区", "金色家园", "锦绣花园", "翠苑", "和园", "康乐新村", "幸福里", "春江花苑", "桂花苑", "梧桐苑",
	"枫林苑", "东方花园", "丽景苑", "明月苑", "嘉和苑", "绿洲花园", "怡景园", "碧水苑", "紫荆花园", "玉兰苑",
	"书香苑", "华庭小区", "新民小区", "电力宿舍", "教师新村", "机械厂宿舍", "纺织新村", "银杏苑", "清泉苑", "星光小区",
}

var compoundPhases = []string{"", "二期", "三期", "四期", "五期", "六期", "七期", "八期", "九期"}

// compoundName returns the i-th compound name of a community (0-based).
func compoundName(i int) string {
	p := i / len(compoundNames)
	if p < len(compoundPhases) {
		return compoundNames[i%len(compoundNames)] + compoundPhases[p]
	}
	return compoundNames[i%len(compoundNames)] + strconv.Itoa(p+1) + "期"
}

// surnames are common Chinese surnames, most frequent first.
var surnames = []string{
	"王", "李", "张", "刘", "陈", "杨", "黄", "赵", "吴", "周", "徐", "孙", "马", "朱", "胡", "郭", "何", "林", "高", "罗",
	"郑", "梁", "谢", "宋", "唐", "许", "韩", "冯", "邓", "曹", "彭", "曾", "肖", "田", "董", "袁", "潘", "于", "蒋", "蔡",
	"余", "杜", "叶", "程", "苏", "魏", "吕", "丁", "任", "沈", "姚", "卢", "姜", "崔", "钟", "谭", "陆", "汪", "范", "金",
	"石", "廖", "贾", "夏", "韦", "付", "方", "白", "邹", "孟", "熊", "秦", "邱", "江", "尹", "薛", "闫", "段", "雷", "侯",
	"龙", "史", "陶", "黎", "贺", "顾", "毛", "郝", "龚", "邵", "万", "钱", "严", "武", "戴", "莫", "孔", "向", "汤", "欧阳",
}

// givenNames are given names typical of adults born 1960–1995.
var givenNames = []string{
	"伟", "芳", "娜", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟", "涛", "明", "超", "霞", "平", "刚",
	"燕", "萍", "琳", "斌", "辉", "鹏", "飞", "亮", "健", "波", "宁", "丹", "莉", "玲", "倩", "华", "红", "英", "梅", "峰",
	"秀英", "桂英", "建华", "建国", "建军", "志强", "志明", "海燕", "晓燕", "丽华", "丽娟", "红梅", "春梅", "玉兰", "淑珍",
	"国庆", "国华", "德明", "文杰", "文华", "永刚", "永强", "晓东", "晓明", "晓红", "海涛", "海峰", "雪梅", "爱华", "立新",
	"卫东", "卫国", "建平", "建明", "振华", "宏伟", "俊杰", "佳怡", "雅婷", "婷婷", "丹丹", "亚楠", "凤英", "秀兰", "桂兰",
	"金凤", "美玲", "国强", "学军", "红霞", "晓梅", "志刚", "春华", "秋菊", "冬梅", "利民", "小军", "小红", "海军", "建伟",
	"晓峰", "文静", "慧敏", "思琪", "佳琪", "俊峰", "宇", "浩", "鑫", "欣", "磊磊", "晨", "旭东", "瑞", "凯", "颖",
}
