# ruff: noqa: E501, RUF001  (prompt texts are sentences; Chinese punctuation is meant)
"""The embedded default menu (INTERFACES §5) in English, Finnish, Swedish and Chinese.

Keys: 1 information, 2 message (voicemail as feedback), 3 keypad survey, 0 wait
for the desk, * the menu again. The prompts are spoken by espeak-ng from the
texts below (built once into the data dir); a site replaces any of them with a
recorded WAV (docs/MENU.md). The flow's own prompts (voicemail, survey, desk,
recording notice) are in :data:`FLOW_TEXTS`; a site menu may override them in its
``[texts.<lang>]``.
"""

from __future__ import annotations

DEFAULT_MENU = """
[menu]
root = "main"
languages = ["en", "fi", "sv", "zh"]
timeout = 7.0
inter_digit_timeout = 3.0
max_failures = 2
max_timeouts = 2
on_max_failures = "desk"

[menus.main]
greet_long = "main_long"
greet_short = "main_short"
invalid = "invalid"
timeout = "timeout"

[menus.main.keys]
"1" = { action = "play", prompt = "info" }
"2" = "voicemail"
"3" = "survey"
"0" = "desk"
"*" = "repeat"

[texts.en]
main_long = "Welcome to the laboratory. For opening hours and how to collect your results, press 1. To leave a message or feedback for the laboratory, press 2. To answer a short satisfaction survey, press 3. To wait for the reception desk, press 0. To hear this menu again, press star."
main_short = "For opening hours, press 1. For a message, 2. For the survey, 3. For the desk, 0. To repeat, star."
invalid = "Sorry, that key is not in the menu."
timeout = "We did not hear a key."
info = "The laboratory is open Monday to Friday from seven to three, and on Saturdays from eight to twelve. Samples are taken without an appointment. Your results are sent by text message when they are ready; you can collect a printed copy at the reception with an identity card."

[texts.fi]
main_long = "Tervetuloa laboratorioon. Aukioloajat ja tulosten noutaminen, paina 1. Jätä viesti tai palautetta laboratoriolle, paina 2. Vastaa lyhyeen tyytyväisyyskyselyyn, paina 3. Odota vastaanoton vastausta, paina 0. Kuule valikko uudelleen, paina tähti."
main_short = "Aukioloajat, paina 1. Viesti, 2. Kysely, 3. Vastaanotto, 0. Toisto, tähti."
invalid = "Valitettavasti tätä näppäintä ei ole valikossa."
timeout = "Emme kuulleet näppäilyä."
info = "Laboratorio on avoinna maanantaista perjantaihin kello seitsemästä viiteentoista ja lauantaisin kahdeksasta kahteentoista. Näytteet otetaan ilman ajanvarausta. Tulokset lähetetään tekstiviestillä, kun ne ovat valmiita; tulosteen saat vastaanotosta henkilöllisyystodistusta vastaan."

[texts.sv]
main_long = "Välkommen till laboratoriet. För öppettider och hur du hämtar dina provsvar, tryck 1. För att lämna ett meddelande eller synpunkter till laboratoriet, tryck 2. För att svara på en kort enkät, tryck 3. För att vänta på receptionen, tryck 0. För att höra menyn igen, tryck stjärna."
main_short = "Öppettider, tryck 1. Meddelande, 2. Enkät, 3. Receptionen, 0. Upprepa, stjärna."
invalid = "Tyvärr finns den knappen inte i menyn."
timeout = "Vi hörde ingen knapptryckning."
info = "Laboratoriet har öppet måndag till fredag från sju till femton och lördagar från åtta till tolv. Prover tas utan tidsbokning. Dina provsvar skickas med sms när de är klara; en utskrift hämtar du i receptionen mot legitimation."

[texts.zh]
main_long = "欢迎致电化验室。查询开放时间和领取化验结果，请按1。给化验室留言或提出意见，请按2。参加简短的满意度调查，请按3。等待前台接听，请按0。重听菜单，请按星号键。"
main_short = "开放时间请按1，留言请按2，调查请按3，前台请按0，重听请按星号键。"
invalid = "对不起，菜单中没有这个按键。"
timeout = "我们没有听到按键。"
info = "化验室周一至周五早上七点至下午三点开放，周六早上八点至中午十二点开放。抽血无需预约。结果出来后会以短信通知您，您也可以凭身份证件到前台领取打印的报告。"
"""

# The call flow's own prompts, per language (a site menu's [texts] may override any).
FLOW_TEXTS: dict[str, dict[str, str]] = {
    "en": {
        "vm_anon": "To leave your message anonymously, press 1 now. Otherwise, please wait.",
        "vm_intro": "Please speak after the tone. Press hash when you are done.",
        "vm_saved": "Thank you. Your message has been passed to the laboratory.",
        "vm_failed": "Sorry, your message could not be saved.",
        "survey_intro": "Thank you for answering our survey. Answer each question with one key.",
        "survey_thanks": "Thank you for your answers.",
        "no_survey": "There is no survey at the moment.",
        "yes_no_hint": "Press 1 for yes, or 2 for no.",
        "scale_hint": "Press a key from {min} to {max}.",
        "question": "Question {n}.",
        "desk_wait": "This line cannot be transferred, but the reception desk has been told that you are waiting. Please stay on the line.",
        "desk_vm": "The desk is busy. You can leave a message instead.",
        "recording_notice": "This call is recorded.",
        "goodbye": "Goodbye.",
        "hold": "While you wait: drink a glass of water before your blood test, and bring your identity card and the referral with you.",
    },
    "fi": {
        "vm_anon": "Jos haluat jättää viestin nimettömänä, paina nyt 1. Muuten odota hetki.",
        "vm_intro": "Puhu äänimerkin jälkeen. Paina risuaitaa, kun olet valmis.",
        "vm_saved": "Kiitos. Viestisi on välitetty laboratoriolle.",
        "vm_failed": "Valitettavasti viestiä ei voitu tallentaa.",
        "survey_intro": "Kiitos, että vastaat kyselyymme. Vastaa jokaiseen kysymykseen yhdellä näppäimellä.",
        "survey_thanks": "Kiitos vastauksistasi.",
        "no_survey": "Kyselyä ei ole tällä hetkellä.",
        "yes_no_hint": "Paina 1, jos kyllä, tai 2, jos ei.",
        "scale_hint": "Paina näppäintä {min} - {max}.",
        "question": "Kysymys {n}.",
        "desk_wait": "Puhelua ei voi siirtää, mutta vastaanotolle on ilmoitettu, että odotat. Pysy linjalla.",
        "desk_vm": "Vastaanotto on varattu. Voit jättää viestin.",
        "recording_notice": "Tämä puhelu tallennetaan.",
        "goodbye": "Näkemiin.",
        "hold": "Odottaessasi: juo lasillinen vettä ennen verikoetta ja ota mukaan henkilöllisyystodistus ja lähete.",
    },
    "sv": {
        "vm_anon": "För att lämna meddelandet anonymt, tryck 1 nu. Annars, vänta.",
        "vm_intro": "Tala efter tonen. Tryck fyrkant när du är klar.",
        "vm_saved": "Tack. Ditt meddelande har lämnats till laboratoriet.",
        "vm_failed": "Tyvärr kunde meddelandet inte sparas.",
        "survey_intro": "Tack för att du svarar på vår enkät. Svara på varje fråga med en knapp.",
        "survey_thanks": "Tack för dina svar.",
        "no_survey": "Det finns ingen enkät just nu.",
        "yes_no_hint": "Tryck 1 för ja, eller 2 för nej.",
        "scale_hint": "Tryck en knapp från {min} till {max}.",
        "question": "Fråga {n}.",
        "desk_wait": "Samtalet kan inte kopplas vidare, men receptionen vet att du väntar. Stanna kvar i linjen.",
        "desk_vm": "Receptionen är upptagen. Du kan lämna ett meddelande.",
        "recording_notice": "Det här samtalet spelas in.",
        "goodbye": "Hej då.",
        "hold": "Medan du väntar: drick ett glas vatten före blodprovet, och ta med legitimation och remiss.",
    },
    "zh": {
        "vm_anon": "如需匿名留言，请现在按1，否则请稍候。",
        "vm_intro": "请在提示音后讲话，讲完请按井号键。",
        "vm_saved": "谢谢，您的留言已转交化验室。",
        "vm_failed": "对不起，留言未能保存。",
        "survey_intro": "感谢您参加我们的调查。每个问题请按一个键回答。",
        "survey_thanks": "感谢您的回答。",
        "no_survey": "目前没有调查。",
        "yes_no_hint": "是请按1，否请按2。",
        "scale_hint": "请按{min}到{max}之间的一个键。",
        "question": "第{n}题。",
        "desk_wait": "本线路无法转接，但前台已知道您在等候，请不要挂机。",
        "desk_vm": "前台正忙，您可以留言。",
        "recording_notice": "本次通话将被录音。",
        "goodbye": "再见。",
        "hold": "等候期间请注意：抽血前请喝一杯水，并携带身份证件和化验单。",
    },
}

# espeak-ng voice per language
VOICES = {"en": "en-us", "fi": "fi", "sv": "sv", "zh": "cmn"}
