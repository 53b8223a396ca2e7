"""The shipped wording of every patient message: sample text for the clinic to review and edit
as data (`/messages/templates`). The migration loads it; `load_defaults()` adds what is missing.

E-mail bodies may name the visit; text messages (`sms`) never carry clinical detail: `{visit}`
in a text is "appointment" unless the patient allowed detail by text.
"""

from __future__ import annotations

# (kind, visit kind or '' for any, therapy or '' for any, subject, e-mail body, text)
SAMPLES: list[tuple[str, str, str, str, str, str]] = [
    (
        "confirmation",
        "",
        "",
        "Your {visit} at {clinic} on {date}",
        "Dear {first_name},\n\n"
        "Your {visit} is booked for {date} at {time}.\n"
        "Place: {place}\n\n"
        "Please come 10 minutes early and bring a list of the medicines you take.\n\n"
        "{links}\n\n"
        "Questions? Call us on {clinic_phone}.\n\n{clinic}\n\n{opt_out}",
        "{clinic}: your {visit} is booked for {date} at {time}. "
        "Confirm or change it: {link} Reply STOP to stop texts.",
    ),
    (
        "confirmation",
        "procedure",
        "",
        "Your procedure at {clinic} on {date}: how to prepare",
        "Dear {first_name},\n\n"
        "Your procedure is booked for {date} at {time}. It takes about two hours.\n"
        "Place: {place}\n\n"
        "How to prepare:\n"
        "- If you take blood thinners or anti-inflammatory pain medicines (such as ibuprofen or "
        "naproxen), call us: you may need to pause them before the procedure. Do not stop a "
        "medicine without talking to us.\n"
        "- Eat lightly on the day unless we told you otherwise.\n"
        "- Arrange for someone to drive you home.\n\n"
        "We will remind you again before the day.\n\n"
        "{links}\n\n"
        "Questions? Call us on {clinic_phone}.\n\n{clinic}\n\n{opt_out}",
        "{clinic}: your {visit} is booked for {date} at {time}. We will e-mail or text how to "
        "prepare. Confirm or change it: {link} Reply STOP to stop texts.",
    ),
    (
        "reminder_medicine",
        "procedure",
        "",
        "In a week: your procedure on {date}, and your medicines",
        "Dear {first_name},\n\n"
        "Your procedure is on {date} at {time}.\n\n"
        "Some medicines need a pause before it, as your care team told you: blood thinners and "
        "anti-inflammatory pain medicines (such as ibuprofen, naproxen or aspirin for pain). "
        "If you are not sure what to pause and when, call us today on {clinic_phone}. Do not "
        "stop a medicine you were told to keep taking.\n\n"
        "{links}\n\n{clinic}\n\n{opt_out}",
        "{clinic}: reminder of your {visit} on {date} at {time}. Please check the medicine "
        "advice we gave you, or call {clinic_phone}. {link} Reply STOP to stop texts.",
    ),
    (
        "reminder_medicine",
        "procedure",
        "prp",
        "In a week: your PRP treatment on {date}, and pain medicines",
        "Dear {first_name},\n\n"
        "Your PRP treatment is on {date} at {time}.\n\n"
        "Anti-inflammatory pain medicines (such as ibuprofen or naproxen) make platelets work "
        "less well, so please stop them 7 days before the treatment unless your doctor told "
        "you otherwise. For pain you may take acetaminophen (paracetamol). If you take a blood "
        "thinner, follow the plan your care team gave you, or call us on {clinic_phone}.\n\n"
        "{links}\n\n{clinic}\n\n{opt_out}",
        "{clinic}: reminder of your {visit} on {date} at {time}. Please check the medicine "
        "advice we gave you, or call {clinic_phone}. {link} Reply STOP to stop texts.",
    ),
    (
        "reminder_fasting",
        "procedure",
        "",
        "In two days: your procedure on {date}",
        "Dear {first_name},\n\n"
        "Your procedure is on {date} at {time}.\n"
        "Place: {place}\n\n"
        "- Eat a light meal before you come unless we told you to fast; if you were told to "
        "fast, do not eat for 6 hours before.\n"
        "- You cannot drive yourself home: please make sure someone can take you.\n"
        "- Wear loose, comfortable clothes.\n\n"
        "{links}\n\n{clinic}\n\n{opt_out}",
        "{clinic}: your {visit} is on {date} at {time}. Please arrange a ride home. "
        "{link} Reply STOP to stop texts.",
    ),
    (
        "reminder_day_before",
        "",
        "",
        "Tomorrow: your {visit} at {time}",
        "Dear {first_name},\n\n"
        "This is a reminder of your {visit} tomorrow, {date}, at {time}.\n"
        "Place: {place}\n\n"
        "{links}\n\n"
        "If you cannot come, please tell us so someone else can have the time.\n\n"
        "{clinic} · {clinic_phone}\n\n{opt_out}",
        "{clinic}: reminder of your {visit} tomorrow, {date}, at {time}. "
        "Confirm or cancel: {link} Reply STOP to stop texts.",
    ),
    (
        "questionnaire_open",
        "",
        "",
        "Your questionnaires are ready",
        "Dear {first_name},\n\n"
        "Some short questionnaires about how you are doing are ready for you in the patient "
        "portal. Please fill them in by {due_date}; they take about 10 minutes.\n\n"
        "{portal}\n\n{clinic}\n\n{opt_out}",
        "{clinic}: your questionnaires are ready in the patient portal, please answer by "
        "{due_date}. {portal} Reply STOP to stop texts.",
    ),
    (
        "questionnaire_closing",
        "",
        "",
        "Your questionnaires close on {due_date}",
        "Dear {first_name},\n\n"
        "A reminder: your questionnaires in the patient portal close on {due_date}. Your "
        "answers help us see how your treatment is going.\n\n{portal}\n\n{clinic}\n\n{opt_out}",
        "{clinic}: your questionnaires close on {due_date}. {portal} Reply STOP to stop texts.",
    ),
    (
        "recall",
        "",
        "",
        "Time to book your follow-up visit",
        "Dear {first_name},\n\n"
        "Your next follow-up visit is due now, and it is not booked yet. Please call us on "
        "{clinic_phone} to choose a time.\n\n{clinic}\n\n{opt_out}",
        "{clinic}: your follow-up visit is due. Please call {clinic_phone} to book. "
        "Reply STOP to stop texts.",
    ),
    (
        "change_notice",
        "",
        "",
        "Your {visit} has moved to {date}",
        "Dear {first_name},\n\n"
        "Your {visit} has moved. The new time is {date} at {time} (it was {old_date} at "
        "{old_time}).\nPlace: {place}\n\n{links}\n\n"
        "Questions? Call us on {clinic_phone}.\n\n{clinic}\n\n{opt_out}",
        "{clinic}: your {visit} has moved to {date} at {time}. {link} Reply STOP to stop texts.",
    ),
    (
        "reply_waiting",
        "",
        "",
        "A reply from your care team is waiting",
        "Dear {first_name},\n\n"
        "Your care team has replied to your message. Please sign in to the patient portal to "
        "read it.\n\n{portal}\n\n{clinic}\n\n{opt_out}",
        "{clinic}: a reply is waiting for you in the patient portal. {portal} "
        "Reply STOP to stop texts.",
    ),
]

OFFICE_HOURS = "Monday to Friday, 8 am to 5 pm. We answer messages within one working day."
EMERGENCY_ADVICE = (
    "Messages are not read at night or at weekends. If you have a fever, pain that gets worse, "
    "new numbness or weakness, call us. For trouble controlling your bladder or bowels, chest "
    "pain or trouble breathing, call 911 or go to the nearest emergency department."
)
