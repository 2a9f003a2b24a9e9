"""The shipped measures of each level (DOMAIN §6), in the words of a school's safety office. A
bureau edits them (services.measures_edit); a level-1 order asks for level 2's measures too.

One measure is not on any list because it is not the bureau's to drop: at level 2 and above
every shift has a leader on duty (DUTY_LEADER). Every order asks for it first, and the system
checks it against the roster (services.measure_confirm) instead of taking it on trust."""

from django.utils.translation import gettext_lazy as _

DUTY_LEADER = _(
    "A leader on duty around the clock: every shift of the roster has a leader on duty "
    "(checked against the duty roster)"
)

DEFAULTS: dict[int, list[str]] = {
    2: [
        "校门实行封闭管理，外来人员一律查验身份证件并登记",
        "外来访客须提前预约，经被访人确认后方可入校",
        "新闻媒体进校采访须经上级教育行政部门审批",
        "增加校园巡逻频次，重点时段、重点部位每2小时巡查一次",
        "上下学时段校门口安排护学岗，保安、教师共同值守",
        "检查一键报警、视频监控、消防设施，确保完好有效",
    ],
    1: [
        "校园实行全封闭管理，除本校师生员工外一律不得入校",
        "学校主要领导在校坐镇指挥，班子成员分片包干",
        "暂停一切大型集会和聚集性活动",
        "专职保安和应急处置队伍24小时备勤",
        "每日向上级报告防控措施落实情况",
    ],
}
