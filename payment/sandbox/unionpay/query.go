package unionpaysandbox

import (
	"maps"
	"net/http"
)

var queryRequired = []string{"version", "encoding", "txnType", "txnSubType", "bizType", "accessType",
	"merId", "orderId", "txnTime", "certId", "signMethod", "signature"}

// queryTrans answers a status query (txnType 00) synchronously: respCode
// is the query's own result (00 found, 34 no such transaction, 11 bad
// signature…), origRespCode the consumption's (70 while the person is on
// the card page). Every answer is signed.
func (s *Sandbox) queryTrans(w http.ResponseWriter, r *http.Request) {
	f, ok := s.readRequest(w, r, queryRequired)
	if !ok {
		return
	}
	if f["txnType"] != "00" || f["txnSubType"] != "00" || f["bizType"] != "000000" {
		s.answer(w, f, "10")
		return
	}
	s.mu.Lock()
	if rf := s.refunds[f["merId"]+"|"+f["orderId"]]; rf != nil && rf.txnTime == f["txnTime"] {
		res := s.refundFields(rf)
		s.mu.Unlock()
		if rf.code == "" {
			res["respCode"] = "05" // accepted, still processing: query again (§3.4)
		}
		res["origRespCode"], res["origRespMsg"] = res["respCode"], respMsg(res["respCode"])
		res["respCode"], res["respMsg"], res["bizType"] = "00", respMsg("00"), "000000"
		s.write(w, res)
		return
	}
	o := s.orders[f["merId"]+"|"+f["orderId"]]
	if o == nil || o.txnTime != f["txnTime"] {
		s.mu.Unlock()
		s.answer(w, f, "34")
		return
	}
	s.expireLocked(o)
	res := s.resultFields(o)
	if o.state == awaiting {
		res["respCode"] = "70"
	}
	s.mu.Unlock()
	// The original's fields, its code moved to origRespCode, and the
	// query's own result in respCode; bizType echoes the query's.
	res["origRespCode"], res["origRespMsg"] = res["respCode"], respMsg(res["respCode"])
	res["respCode"], res["respMsg"], res["bizType"] = "00", respMsg("00"), "000000"
	s.write(w, res)
}

// answer refuses a query with code, echoing the request's identifiers.
func (s *Sandbox) answer(w http.ResponseWriter, req map[string]string, code string) {
	res := map[string]string{"version": "5.1.0", "encoding": "UTF-8", "respCode": code, "respMsg": respMsg(code)}
	for _, k := range []string{"bizType", "txnType", "txnSubType", "accessType", "merId", "orderId", "txnTime"} {
		if v := req[k]; v != "" {
			res[k] = v
		}
	}
	s.write(w, res)
}

func (s *Sandbox) write(w http.ResponseWriter, res map[string]string) {
	w.Header().Set("Content-Type", "text/plain; charset=UTF-8")
	_, _ = w.Write([]byte(encodeRaw(s.sign(maps.Clone(res)))))
}

// readRequest reads a back-end request's form (bounded, every value once)
// and checks its common fields, signature included, against required. On
// a refusal it has answered as UnionPay does (10 for a form it cannot
// read, checkRequest's code otherwise) and returns false.
func (s *Sandbox) readRequest(w http.ResponseWriter, r *http.Request, required []string) (map[string]string, bool) {
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	var f map[string]string
	ok := r.ParseForm() == nil
	if ok {
		f, ok = fields(r.PostForm)
	}
	if !ok {
		s.answer(w, map[string]string{}, "10")
		return nil, false
	}
	if code := s.checkRequest(f, required); code != "" {
		s.answer(w, f, code)
		return nil, false
	}
	return f, true
}
