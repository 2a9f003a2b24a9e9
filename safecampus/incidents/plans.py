"""Emergency plans (应急预案): per incident type, the roles, the ordered steps ticked off on an
incident (who and when), the contacts and the supplies. The project ships a default plan
for the common types (DEFAULT_PLANS), written the way a Chinese school reads them; a unit
edits its own copy (EmergencyPlan rows), and an incident follows the nearest plan: its
unit's, else the nearest unit's above it, else the default."""

from dataclasses import dataclass, field

from .models import Kind


@dataclass(frozen=True)
class PlanText:
    title: str
    roles: str
    steps: list[str] = field(default_factory=list)
    contacts: str = "火警 119 · 报警 110 · 急救 120 · 交通事故 122 · 教育局安全办值班电话"
    supplies: str = ""


COMMON_ROLES = "总指挥：校长；副总指挥：分管副校长；现场处置组、疏散组、医疗救护组、通讯联络组、后勤保障组、善后工作组"

DEFAULT_PLANS: dict[str, PlanText] = {
    Kind.FIRE: PlanText(
        "火灾事故应急预案",
        COMMON_ROLES,
        [
            "发现火情立即呼喊报警，拨打 119，报告校长（带班领导）",
            "切断电源、燃气，启动消防广播",
            "按疏散路线组织师生撤离至操场等安全区域，湿毛巾捂口鼻、弯腰低姿",
            "义务消防队使用灭火器、消火栓扑救初起火灾，不得组织学生参与灭火",
            "各班主任清点人数，报告疏散组",
            "安排人员到路口引导消防车，保护现场",
            "救治伤员，必要时拨打 120 送医",
            "向教育局口头报告，随后报送书面报告",
        ],
        supplies="灭火器、消火栓、应急照明、湿毛巾、扩音器、急救箱",
    ),
    Kind.FOOD_POISONING: PlanText(
        "食物中毒事件应急预案",
        COMMON_ROLES,
        [
            "立即停止食用可疑食物，拨打 120 送医救治",
            "封存可疑食物、留样和餐具，保护食堂现场",
            "报告校长，2 小时内报告教育局、市场监管和卫生健康部门",
            "统计发病学生名单、症状和就餐情况",
            "通知学生家长，做好解释和安抚",
            "配合疾控、市场监管部门调查取样",
        ],
        supplies="急救箱、留样柜、封存袋",
    ),
    Kind.INFECTIOUS: PlanText(
        "传染病疫情应急预案",
        COMMON_ROLES,
        [
            "发现疑似病例立即隔离观察，通知家长接回就医",
            "报告校长，按规定时限报告教育局和疾控部门",
            "开展晨午检和因病缺课追踪登记",
            "对教室、宿舍、食堂等场所进行消毒通风",
            "按疾控意见落实停课、复课等措施",
            "开展健康教育，做好师生心理疏导",
        ],
        supplies="体温计、口罩、消毒液、隔离观察室",
    ),
    Kind.TRAFFIC: PlanText(
        "交通及校车事故应急预案",
        COMMON_ROLES,
        [
            "随车人员立即拨打 122、120，开启危险报警闪光灯，设置警示标志",
            "组织学生有序下车，撤离到安全地带",
            "救治受伤学生，清点人数",
            "报告校长和教育局，通知家长",
            "保护现场，配合交警调查",
        ],
        supplies="急救箱、三角警示牌、学生名单",
    ),
    Kind.VIOLENCE: PlanText(
        "暴力侵害及不法人员闯入应急预案",
        COMMON_ROLES,
        [
            "门卫、保安立即使用防暴器械阻止侵害，拨打 110",
            "启动警报，组织学生就近进入教室锁门避险",
            "拨打 120 救治伤员",
            "报告校长和教育局",
            "配合公安机关处置，保护现场",
            "做好师生和家长心理疏导",
        ],
        supplies="钢叉、防暴盾牌、防刺背心、警报器",
    ),
    Kind.BULLYING: PlanText(
        "学生欺凌事件处置预案",
        "组长：校长；成员：分管副校长、德育（政教）主任、班主任、心理教师、法治副校长",
        [
            "制止欺凌行为，保护被欺凌学生",
            "有伤情的立即送医，通知双方家长",
            "学生欺凌治理委员会调查取证，做好记录",
            "认定后对实施欺凌学生进行教育惩戒，涉嫌违法的报告公安机关",
            "心理教师对双方学生进行心理辅导",
            "报告教育局，跟踪回访",
        ],
        supplies="谈话记录表、心理辅导室",
    ),
    Kind.DROWNING: PlanText(
        "防溺水事故应急预案",
        COMMON_ROLES,
        [
            "立即呼救，拨打 110、120，不得让学生手拉手施救",
            "使用救生圈、竹竿等器材施救",
            "救上岸后清理口鼻，实施心肺复苏",
            "报告校长、教育局，通知家长",
            "配合做好善后工作",
        ],
        supplies="救生圈、救生绳、竹竿",
    ),
    Kind.BUILDING: PlanText(
        "校舍及设施安全事故应急预案",
        COMMON_ROLES,
        [
            "立即组织师生撤离危险区域，设置警戒线",
            "救治伤员，拨打 120",
            "切断危险区域电源、水源、燃气",
            "报告校长和教育局，通知住建部门鉴定",
            "停止使用受损校舍，安排临时教学场所",
        ],
        supplies="警戒线、应急照明、急救箱",
    ),
    Kind.LAB: PlanText(
        "实验室危险化学品事故应急预案",
        COMMON_ROLES,
        [
            "立即停止实验，组织学生撤离实验室",
            "切断电源、火源，开窗通风",
            "沾染化学品的用大量清水冲洗，必要时拨打 120",
            "泄漏时用吸附材料处置，不得用手直接接触",
            "报告校长和教育局，必要时报告应急管理部门",
        ],
        supplies="洗眼器、喷淋装置、吸附棉、防护手套、护目镜",
    ),
    Kind.FLOOD: PlanText(
        "防汛应急预案",
        COMMON_ROLES,
        [
            "关注预警信息，必要时停课或提前放学",
            "转移低洼处、危房内的师生和物资",
            "切断被淹区域电源",
            "安排人员24小时值守巡查",
            "报告教育局，灾后清淤消毒、排查隐患",
        ],
        supplies="沙袋、水泵、雨衣、应急照明",
    ),
    Kind.EARTHQUAKE: PlanText(
        "地震应急预案",
        COMMON_ROLES,
        [
            "震时就近躲避：课桌下、墙角，护住头部",
            "震后按疏散路线迅速撤离到操场，远离建筑物",
            "班主任清点人数，报告疏散组",
            "搜救被困人员，救治伤员，拨打 120",
            "报告教育局，安排学生安全离校",
        ],
        supplies="急救箱、应急照明、扩音器、帐篷",
    ),
    Kind.CROWD: PlanText(
        "拥挤踩踏事故应急预案",
        COMMON_ROLES,
        [
            "就近教师立即喊停，疏导人流，防止继续拥挤",
            "打开所有通道，分流学生",
            "救治伤员，拨打 120",
            "清点人数，报告校长和教育局",
            "通知家长，做好安抚",
        ],
        supplies="扩音器、应急照明、急救箱",
    ),
    Kind.MISSING: PlanText(
        "学生走失应急预案",
        COMMON_ROLES,
        [
            "班主任确认学生未到校或离校去向，立即联系家长",
            "组织人员在校内及周边查找，调取监控",
            "超过 1 小时未找到，拨打 110 报警",
            "报告校长和教育局",
            "找到后做好学生心理疏导，查明原因",
        ],
        supplies="学生名单、家长联系方式、监控系统",
    ),
}

GENERIC = PlanText(
    "突发事件通用应急预案",
    COMMON_ROLES,
    [
        "控制事态，先救人，保护现场",
        "根据情况拨打 119、110、120、122",
        "报告校长（带班领导）",
        "组织师生疏散，清点人数",
        "向教育局口头报告，随后报送书面报告",
        "通知家长，做好善后",
    ],
)


def default_plan(kind: str) -> PlanText:
    return DEFAULT_PLANS.get(kind, GENERIC)
