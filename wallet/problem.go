package wallet

// Problem codes returned by money.go and account/credentials.go. Each is a key in the
// views' locale catalog; Args are listed in the order the text uses them.
//
//	code                     args                      en / zh-CN
//	money.empty              -                         "Please enter an amount."
//	                                                   "请输入金额。"
//	money.negative           -                         "The amount cannot be negative."
//	                                                   "金额不能为负数。"
//	money.format             -                         "That is not an amount. Enter a number such as 12 or 12.50."
//	                                                   "金额格式不正确，请输入如 12 或 12.50 的数字。"
//	money.too_many_decimals  -                         "Amounts have at most two decimal places (fen)."
//	                                                   "金额最多保留两位小数（精确到分）。"
//	money.too_large          MaxMoney (Money, %s)      "The amount cannot exceed %s."
//	                                                   "金额不能超过 %s。"
//	username.empty           -                         "Please enter a username."
//	                                                   "请输入用户名。"
//	username.too_short       min chars (int, %d)       "The username needs at least %d characters."
//	                                                   "用户名至少需要 %d 个字符。"
//	username.too_long        max chars (int, %d)       "The username can have at most %d characters."
//	                                                   "用户名最多 %d 个字符。"
//	username.chars           -                         "The username may only contain letters, digits and underscores."
//	                                                   "用户名只能包含字母、数字和下划线。"
//	password.empty           -                         "Please enter a password."
//	                                                   "请输入密码。"
//	password.too_short       MinPasswordRunes (int)    "The password needs at least %d characters."
//	                                                   "密码至少需要 %d 个字符。"
//	password.too_long        MaxPasswordRunes (int)    "The password can have at most %d characters."
//	                                                   "密码最多 %d 个字符。"
//	password.weak            -                         "That password is too easy to guess. Please choose a harder one."
//	                                                   "密码太容易被猜到，请换一个更难猜的。"
//	password.invalid         -                         "The password contains characters that cannot be used."
//	                                                   "密码包含无法使用的字符。"

import "im2pay/problem"

// Problem is the refusal every domain returns (see package problem); the
// alias keeps wallet.Problem the name the handlers and views know.
type Problem = problem.Problem

// NewProblem builds a Problem.
func NewProblem(field, code string, args ...any) *Problem { return problem.New(field, code, args...) }
