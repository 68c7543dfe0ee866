package i18n

// opsTexts holds the operations console's shell: the login steps, the
// roles, the navigation of its areas, the 403 page and the audit log.
var opsTexts = map[string]texts{
	"ops.title": {"运营后台", "Operations console"},

	"ops.login.title":     {"员工登录", "Staff login"},
	"ops.login.name":      {"员工账号", "Staff name"},
	"ops.login.invalid":   {"账号或密码错误。", "Wrong name or password."},
	"ops.login.throttled": {"登录失败次数过多，请约 %d 分钟后再试。", "Too many failed logins. Please try again in about %d minutes."},
	"ops.logged_out":      {"已退出登录。", "You have been logged out."},

	"ops.password.title":   {"修改密码", "Change password"},
	"ops.password.first":   {"这是首次登录：请把一次性密码换成只有你知道的新密码。", "This is your first login: replace the one-time password with a new one only you know."},
	"ops.password.current": {"当前密码", "Current password"},
	"ops.password.new":     {"新密码", "New password"},
	"ops.password.submit":  {"保存新密码", "Save the new password"},
	"ops.password.same":    {"新密码不能与原密码相同。", "The new password must differ from the old one."},
	"ops.password.changed": {"密码已修改，其他会话均已退出。", "Password changed; every other session has been logged out."},

	"ops.totp.enroll_title": {"设置两步验证", "Set up two-step verification"},
	"ops.totp.enroll_hint":  {"用身份验证器应用（如 Google Authenticator、Microsoft Authenticator）扫描二维码，然后输入它显示的 6 位验证码。", "Scan the QR code with an authenticator app (Google Authenticator, Microsoft Authenticator…), then enter the 6-digit code it shows."},
	"ops.totp.qr_alt":       {"两步验证二维码", "Two-step verification QR code"},
	"ops.totp.secret_text":  {"无法扫码？手动输入此密钥：", "Cannot scan? Enter this key by hand:"},
	"ops.totp.title":        {"两步验证", "Two-step verification"},
	"ops.totp.hint":         {"请输入身份验证器应用中显示的 6 位验证码。", "Enter the 6-digit code your authenticator app shows."},
	"ops.totp.code":         {"验证码", "Code"},
	"ops.totp.submit":       {"验证", "Verify"},
	"ops.totp.invalid":      {"验证码不正确或已使用，请等待下一个验证码。", "The code is wrong or was already used; wait for the next one."},
	"ops.totp.throttled":    {"验证失败次数过多，请约 %d 分钟后再试。", "Too many failed codes. Please try again in about %d minutes."},

	"ops.role.viewer":   {"查看员", "Viewer"},
	"ops.role.operator": {"运营", "Operator"},
	"ops.role.finance":  {"财务", "Finance"},
	"ops.role.admin":    {"管理员", "Admin"},

	"ops.nav.dashboard": {"概览", "Overview"},
	"ops.nav.audit":     {"审计日志", "Audit log"},

	"ops.nav.staff":            {"员工", "Staff"},
	"ops.staff.title":          {"员工账号", "Staff accounts"},
	"ops.staff.role":           {"角色", "Role"},
	"ops.staff.state":          {"状态", "State"},
	"ops.staff.add":            {"添加员工", "Add a staff member"},
	"ops.staff.name_hint":      {"小写字母开头，共 2–32 位小写字母、数字、_ . -", "A lower-case letter first, then 1–31 of a–z, 0–9, _ . -"},
	"ops.staff.one_time":       {"已添加 %s。一次性密码（仅显示这一次，首次登录时须修改）：", "%s added. One-time password (shown only this once; changed at the first login):"},
	"ops.staff.name_invalid":   {"账号名不合规或已被使用。", "The name is not allowed or is taken."},
	"ops.staff.active":         {"已启用", "Active"},
	"ops.staff.pending":        {"待首次登录", "Awaiting first login"},
	"ops.staff.disabled_state": {"已停用", "Disabled"},
	"ops.staff.disable":        {"停用", "Disable"},
	"ops.staff.disabled":       {"该员工已停用，其会话均已结束。", "The staff member is disabled; their sessions have ended."},

	"ops.dashboard.title": {"运营后台", "Operations console"},
	"ops.dashboard.hint":  {"你在此所做的每一项操作都会记入审计日志。", "Everything you do here is recorded in the audit log."},

	"ops.forbidden.title": {"无权操作", "Not allowed"},
	"ops.forbidden.hint":  {"你的角色不允许此操作；此次尝试已记入审计日志。", "Your role does not allow this action; the attempt has been recorded in the audit log."},

	"ops.audit.title":       {"审计日志", "Audit log"},
	"ops.audit.staff":       {"员工", "Staff"},
	"ops.audit.action":      {"操作", "Action"},
	"ops.audit.object":      {"对象", "Object"},
	"ops.audit.object_kind": {"对象类型", "Object kind"},
	"ops.audit.object_id":   {"对象编号", "Object id"},
	"ops.audit.at":          {"时间", "Time"},
	"ops.audit.address":     {"地址", "Address"},
	"ops.audit.detail":      {"详情", "Detail"},
	"ops.audit.filter":      {"筛选", "Filter"},
	"ops.audit.none":        {"没有符合条件的记录。", "No lines match."},
	"ops.audit.more":        {"更早的记录", "Older lines"},
	"ops.audit.changes":     {"变更前 → 变更后", "Before → after"},
}
