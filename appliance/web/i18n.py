# ruff: noqa: E501, RUF001 - catalogue rows are one line each; CJK punctuation is intended
"""The page's message catalogues: English, Finnish, Swedish and Chinese.

A missing key in a catalogue falls back to English (tests check that every
catalogue has every key). The user's choice is kept with the account.
"""

from __future__ import annotations

from collections.abc import Callable

LANGUAGES = {"en": "English", "fi": "Suomi", "sv": "Svenska", "zh": "中文"}

# key: (en, fi, sv, zh)
_TEXTS: dict[str, tuple[str, str, str, str]] = {
    "dashboard": ("Dashboard", "Yleisnäkymä", "Översikt", "总览"),
    "inbox": ("Inbox", "Saapuneet", "Inkorg", "收件箱"),
    "outbox": ("Outbox", "Lähtevät", "Utkorg", "发件箱"),
    "failed": ("Failed", "Epäonnistuneet", "Misslyckade", "失败"),
    "calls": ("Calls", "Puhelut", "Samtal", "通话"),
    "contacts": ("Contacts", "Yhteystiedot", "Kontakter", "联系人"),
    "charts": ("Charts", "Kaaviot", "Diagram", "图表"),
    "audit": ("Audit log", "Tapahtumaloki", "Händelselogg", "操作日志"),
    "log_out": ("Log out", "Kirjaudu ulos", "Logga ut", "退出"),
    "log_in": ("Log in", "Kirjaudu", "Logga in", "登录"),
    "login_title": ("Staff login", "Henkilökunnan kirjautuminen", "Personalinloggning", "员工登录"),
    "username": ("User name", "Käyttäjätunnus", "Användarnamn", "用户名"),
    "password": ("Password", "Salasana", "Lösenord", "密码"),
    "language": ("Language", "Kieli", "Språk", "语言"),
    "save": ("Save", "Tallenna", "Spara", "保存"),
    "modem": ("GSM modem", "GSM-modeemi", "GSM-modem", "GSM 调制解调器"),
    "line": ("Phone line", "Puhelinlinja", "Telefonlinje", "电话线路"),
    "sync": ("Central sync", "Keskusyhteys", "Central synk", "中心同步"),
    "store": ("Storage", "Tallennus", "Lagring", "存储"),
    "alerts": ("Needs attention", "Vaatii huomiota", "Kräver åtgärd", "需要处理"),
    "no_alerts": ("Nothing needs attention.", "Ei huomautettavaa.", "Inget kräver åtgärd.", "暂无需要处理的事项。"),
    "acknowledge": ("Acknowledge", "Kuittaa", "Kvittera", "确认"),
    "signal": ("Signal", "Signaali", "Signal", "信号"),
    "network": ("Network", "Verkko", "Nät", "网络"),
    "operator": ("Operator", "Operaattori", "Operatör", "运营商"),
    "sim": ("SIM", "SIM", "SIM", "SIM 卡"),
    "queue": ("Queue", "Jono", "Kö", "队列"),
    "today": ("Today", "Tänään", "I dag", "今天"),
    "sent": ("sent", "lähetetty", "skickade", "已发送"),
    "received": ("received", "vastaanotettu", "mottagna", "已接收"),
    "failed_n": ("failed", "epäonnistui", "misslyckade", "失败"),
    "last_error": ("Last error", "Viimeisin virhe", "Senaste fel", "最近错误"),
    "state": ("State", "Tila", "Status", "状态"),
    "last_calls": ("Last calls", "Viimeisimmät puhelut", "Senaste samtal", "最近通话"),
    "connected": ("Connected", "Yhteydessä", "Ansluten", "已连接"),
    "backlog": ("Waiting to send up", "Odottaa lähetystä", "Väntar på sändning", "待上传"),
    "last_ack": ("Last acknowledged", "Viimeksi kuitattu", "Senast kvitterad", "最近确认"),
    "size": ("Size", "Koko", "Storlek", "大小"),
    "free_disk": ("Free disk", "Vapaa levytila", "Ledigt diskutrymme", "可用磁盘"),
    "live": ("Live", "Ajantasainen", "Live", "实时"),
    "stale": ("Not updating: reconnecting…", "Ei päivity: yhdistetään…", "Uppdateras inte: ansluter…", "未更新：正在重连…"),
    "simulated": ("SIMULATED", "SIMULOITU", "SIMULERAD", "模拟"),
    "caller": ("Incoming call", "Saapuva puhelu", "Inkommande samtal", "来电"),
    "unknown_caller": ("Unknown caller", "Tuntematon soittaja", "Okänd uppringare", "未知来电"),
    "pending": ("Pending notifications", "Odottavat ilmoitukset", "Väntande aviseringar", "待发通知"),
    "open_complaints": ("Open complaints", "Avoimet palautteet", "Öppna klagomål", "未结投诉"),
    "recent_messages": ("Recent messages", "Viimeisimmät viestit", "Senaste meddelanden", "最近短信"),
    "call_back": ("Call back", "Soita takaisin", "Ring tillbaka", "回拨"),
    "save_contact": ("Save as contact", "Tallenna yhteystieto", "Spara som kontakt", "保存为联系人"),
    "dismiss": ("Close", "Sulje", "Stäng", "关闭"),
    "search": ("Search", "Hae", "Sök", "搜索"),
    "status": ("Status", "Tila", "Status", "状态"),
    "all": ("All", "Kaikki", "Alla", "全部"),
    "number": ("Number", "Numero", "Nummer", "号码"),
    "text": ("Text", "Teksti", "Text", "内容"),
    "time": ("Time", "Aika", "Tid", "时间"),
    "next_page": ("Older", "Vanhemmat", "Äldre", "更早"),
    "first_page": ("Newest", "Uusimmat", "Nyaste", "最新"),
    "retry": ("Retry", "Yritä uudelleen", "Försök igen", "重试"),
    "cancel": ("Cancel", "Peru", "Avbryt", "取消"),
    "select": ("Select", "Valitse", "Välj", "选择"),
    "pause_sending": ("Pause all sending", "Keskeytä lähetys", "Pausa all sändning", "暂停发送"),
    "resume_sending": ("Resume sending", "Jatka lähetystä", "Återuppta sändning", "恢复发送"),
    "sending_paused": ("Sending is paused", "Lähetys on keskeytetty", "Sändningen är pausad", "发送已暂停"),
    "test_sms": ("Send a test SMS", "Lähetä testiviesti", "Skicka test-SMS", "发送测试短信"),
    "send": ("Send", "Lähetä", "Skicka", "发送"),
    "reset_modem": ("Reset the modem", "Käynnistä modeemi uudelleen", "Starta om modemet", "重置调制解调器"),
    "diagnostics": ("Download diagnostics", "Lataa vianmääritys", "Ladda ner diagnostik", "下载诊断包"),
    "actions": ("Actions", "Toiminnot", "Åtgärder", "操作"),
    "direction": ("Direction", "Suunta", "Riktning", "方向"),
    "outcome": ("Outcome", "Tulos", "Utfall", "结果"),
    "name": ("Name", "Nimi", "Namn", "姓名"),
    "phones": ("Phones", "Puhelimet", "Telefoner", "电话"),
    "consent": ("Consent", "Suostumus", "Samtycke", "同意"),
    "none": ("None", "Ei yhtään", "Inga", "无"),
    "messages_per_day": ("Messages and calls per day", "Viestit ja puhelut päivittäin", "Meddelanden och samtal per dag", "每日短信和通话"),
    "signal_day": ("Signal over the last day", "Signaali viimeisen vuorokauden aikana", "Signal senaste dygnet", "过去一天的信号"),
    "done": ("Done", "Valmis", "Klart", "完成"),
    "user": ("User", "Käyttäjä", "Användare", "用户"),
    "action": ("Action", "Toiminto", "Åtgärd", "操作"),
    "target": ("Target", "Kohde", "Mål", "对象"),
    "skip": ("Skip to the content", "Siirry sisältöön", "Hoppa till innehållet", "跳到内容"),
    "main_nav": ("Main", "Päävalikko", "Huvudmeny", "主菜单"),
    "dial": ("Call", "Soita", "Ring", "拨打"),
    "in_doubt": ("in doubt", "epävarma", "osäker", "状态未知"),
    "message_in_doubt": ("A message may or may not have been sent", "Viestin lähetys on epävarma", "Ett meddelande kanske inte skickades", "短信可能未发送"),
    "sim_full": ("The SIM is full", "SIM-kortti on täynnä", "SIM-kortet är fullt", "SIM 卡已满"),
    "modem_hung": ("The modem does not answer", "Modeemi ei vastaa", "Modemet svarar inte", "调制解调器无响应"),
    "low_signal": ("Low signal", "Heikko signaali", "Svag signal", "信号弱"),
    "disk_low": ("The disk is nearly full", "Levy on melkein täynnä", "Disken är nästan full", "磁盘快满了"),
    "complaint_waiting": ("A complaint is waiting", "Palaute odottaa", "Ett klagomål väntar", "有投诉待处理"),
    "clock_wrong": ("The clock is wrong", "Kello on väärässä", "Klockan går fel", "时钟错误"),
    "acknowledged": ("acknowledged", "kuitattu", "kvitterad", "已确认"),
    "open": ("open", "avoin", "öppen", "未处理"),
    "complaints": ("Complaints", "Palautteet", "Klagomål", "投诉"),
    "surveys": ("Surveys", "Kyselyt", "Enkäter", "问卷"),
    "followups": ("Call-backs", "Takaisinsoitot", "Återuppringningar", "回访"),
    "contacts_note": ("Synced contacts come from the central system and are read-only here; local ones are made and edited at the desk; a desk note can be added to any.", "Synkronoidut yhteystiedot tulevat keskusjärjestelmästä eikä niitä muokata täällä; paikalliset luodaan ja muokataan vastaanotossa; muistiinpanon voi lisätä mihin tahansa.", "Synkade kontakter kommer från centralsystemet och kan inte ändras här; lokala skapas och ändras i receptionen; en anteckning kan läggas till på alla.", "同步的联系人来自中心系统，此处只读；本地联系人在前台创建和编辑；任何联系人都可添加前台备注。"),
    "source": ("Source", "Lähde", "Källa", "来源"),
    "marks": ("Marks", "Merkinnät", "Markeringar", "标记"),
    "opted_out": ("opted out", "kieltäytynyt", "avregistrerad", "已退订"),
    "local": ("local", "paikallinen", "lokal", "本地"),
    "synced": ("synced (read-only)", "synkronoitu (vain luku)", "synkad (skrivskyddad)", "已同步（只读）"),
    "edit_contact": ("Edit the contact", "Muokkaa yhteystietoa", "Ändra kontakten", "编辑联系人"),
    "phones_hint": ("one per line, the preferred first", "yksi per rivi, ensisijainen ensin", "ett per rad, det föredragna först", "每行一个，首选的在前"),
    "birth_date": ("Birth date", "Syntymäaika", "Födelsedatum", "出生日期"),
    "tags": ("Tags", "Tunnisteet", "Taggar", "标签"),
    "guardian": ("Guardian", "Huoltaja", "Vårdnadshavare", "监护人"),
    "desk_note": ("Desk note", "Vastaanoton muistiinpano", "Receptionens anteckning", "前台备注"),
    "desk_note_hint": ("Kept on this box only, shown when this person calls; never sent to the central system.", "Säilytetään vain tässä laitteessa ja näytetään, kun henkilö soittaa; ei lähetetä keskusjärjestelmään.", "Sparas bara i den här enheten och visas när personen ringer; skickas aldrig till centralsystemet.", "仅保存在本设备上，此人来电时显示；不会发送到中心系统。"),
    "possible_duplicate": ("possible duplicate of", "mahdollinen kaksoiskappale", "möjlig dubblett av", "可能重复"),
    "record_complaint": ("Record a complaint at the desk", "Kirjaa palaute vastaanotossa", "Registrera ett klagomål i receptionen", "在前台登记投诉"),
    "anonymous": ("anonymous", "nimetön", "anonym", "匿名"),
    "reference": ("Reference", "Viite", "Referens", "编号"),
    "channel": ("Channel", "Kanava", "Kanal", "渠道"),
    "history": ("History", "Historia", "Historik", "历史"),
    "recording": ("recording", "äänite", "inspelning", "录音"),
    "responses": ("Responses", "Vastauksia", "Svar", "回复数"),
    "mean_score": ("mean score", "keskiarvo", "medelvärde", "平均分"),
    "started": ("started", "aloitettu", "påbörjade", "开始"),
    "finished": ("finished", "päättynyt", "avslutade", "结束"),
    "response_rate": ("response rate", "vastausprosentti", "svarsfrekvens", "回复率"),
    "question": ("Question", "Kysymys", "Fråga", "问题"),
    "answers": ("Answers", "Vastaukset", "Svar", "回答"),
    "survey_form": ("Survey form", "Kyselylomake", "Enkätformulär", "问卷表"),
    "call_requests": ("Call requests from the central", "Soittopyynnöt keskukselta", "Samtalsförfrågningar från centralen", "中心的回电请求"),
    "missed_calls": ("Missed calls not yet called back", "Vastaamattomat, ei vielä soitettu takaisin", "Missade samtal som inte ringts tillbaka", "未回拨的未接来电"),
    "schedules": ("Follow-up schedules", "Seuranta-aikataulut", "Uppföljningsscheman", "随访计划"),
    "next_due": ("Next due", "Seuraava", "Nästa", "下次"),
    "yes": ("Yes", "Kyllä", "Ja", "是"),
    "no": ("No", "Ei", "Nej", "否"),
    "answer": ("Answer", "Vastaus", "Svar", "回答"),
    "stop_survey": ("Stop the survey", "Lopeta kysely", "Avbryt enkäten", "停止问卷"),
    "survey_done": ("The survey is finished; the answers go to the central system.", "Kysely on valmis; vastaukset lähetetään keskukseen.", "Enkäten är klar; svaren skickas till centralen.", "问卷已完成；答案将发送到中心。"),
    "followup_calls_due": ("Follow-up calls due", "Erääntyneet seurantapuhelut", "Uppföljningssamtal att ringa", "到期的随访电话"),
    "survey": ("Survey", "Kysely", "Enkät", "问卷"),
    "due": ("Due", "Erääntyy", "Förfaller", "到期"),
    "attempt": ("Attempt", "Yritys", "Försök", "尝试"),
    "done_count": ("Done", "Tehty", "Gjort", "已完成"),
    "start_survey": ("Start the survey", "Aloita kysely", "Starta enkäten", "开始问卷"),
    "call_outcome": ("How the call ended", "Puhelun tulos", "Samtalets resultat", "通话结果"),
    "outcome_answered": ("Answered", "Vastasi", "Svarade", "已接听"),
    "outcome_no_answer": ("No answer", "Ei vastannut", "Inget svar", "无人接听"),
    "outcome_busy": ("Busy", "Varattu", "Upptaget", "占线"),
    "outcome_declined": ("Patient declined", "Potilas kieltäytyi", "Patienten avböjde", "患者拒绝"),
    "outcome_failed": ("Call failed", "Puhelu epäonnistui", "Samtalet misslyckades", "呼叫失败"),
    "outcome_calling": ("Calling now", "Soitetaan", "Ringer nu", "正在呼叫"),
    "last_call": ("Last call", "Viimeisin puhelu", "Senaste samtal", "最近一次通话"),
    "choose": ("Choose…", "Valitse…", "Välj…", "请选择…"),
    "record": ("Record", "Kirjaa", "Registrera", "记录"),
    "channel_sms": ("SMS", "Tekstiviesti", "SMS", "短信"),
    "channel_call": ("Call", "Puhelu", "Samtal", "电话"),
    "followup_call_for": ("Follow-up call", "Seurantapuhelu", "Uppföljningssamtal", "随访电话"),
    "call_recorded": ("Recorded", "Kirjattu", "Registrerat", "已记录"),
    "complaints_chart": ("Open complaints by age", "Avoimet palautteet iän mukaan", "Öppna klagomål efter ålder", "未结投诉按时长"),
    "survey_chart": ("Survey score per question", "Kyselyn keskiarvo kysymyksittäin", "Enkätpoäng per fråga", "各问题平均分"),
}
_INDEX = {code: i for i, code in enumerate(LANGUAGES)}


def catalogue(language: str) -> dict[str, str]:
    i = _INDEX.get(language, 0)
    return {key: texts[i] or texts[0] for key, texts in _TEXTS.items()}


def translator(language: str) -> Callable[[str], str]:
    cat = catalogue(language)
    return lambda key: cat.get(key, key)


def pick_language(chosen: str | None, accept_language: str) -> str:
    """The user's choice, else the browser's first known language, else English."""
    if chosen in LANGUAGES:
        return str(chosen)
    for part in accept_language.split(","):
        code = part.split(";")[0].strip().lower()[:2]
        if code in LANGUAGES:
            return code
    return "en"
