"""Sample instruction texts shipped with the product, to be reviewed by the clinic's medical
director before use. They are loaded into the database as version 1 (status "sample") and
edited there; nothing here is shown to patients directly."""

from __future__ import annotations

from clinic.instructions.phases import Phase

# The clinic's country decides units and medicine names (config CLINIC_LOCALE; US by default).
LOCALES = {
    "US": {"fever": "100.4 °F (38 °C)", "pain_reliever": "acetaminophen (Tylenol)"},
    "metric": {"fever": "38 °C", "pain_reliever": "paracetamol"},
}

WARNING_SIGNS = [
    "a temperature of {fever} or higher, or chills",
    "pain that gets worse instead of better after the first few days, especially with fever "
    "(an infection in the disc or around the spine can start days after an injection)",
    "a headache that is worse when you sit or stand up and eases when you lie down",
    "redness that spreads around a needle site, or fluid or pus coming from it",
    "new numbness or weakness in your legs or arms",
]
HARVEST_SIGN = (
    "bleeding that soaks the dressing, or swelling that keeps growing, where cells were taken"
)
EMERGENCY_SIGNS = (
    "Call 911 or go to the nearest emergency department if you lose control of your bladder "
    "or bowels, have numbness between your legs, or have chest pain or trouble breathing."
)

NSAID_NOTE = (
    "Anti-inflammatory painkillers such as ibuprofen, naproxen or aspirin for pain affect how "
    "platelets work. Unless your doctor has told you otherwise, stop them 7 days before the "
    "procedure and stay off them for 14 days after it. You can take {pain_reliever}. Do not stop a "
    "blood thinner or aspirin prescribed for your heart without speaking to the doctor who "
    "prescribed it."
)

HARVEST_NOTE = {
    "bmac": "You will also have a small dressing over the back of your hip, where bone marrow "
    "was taken. Keep it dry for 24 hours; a bruise and an ache there are normal for a few days.",
    "adipose": "You will also have a small dressing and perhaps a compression garment where fat "
    "was taken from your tummy or flank. Wear the garment as advised; bruising and swelling "
    "there are normal for one to two weeks.",
}

BASE = {
    Phase.PRE_PROCEDURE: (
        "Getting ready for your procedure",
        [
            "Plan to be at the clinic for about two to three hours. Bring a list of your "
            "medicines and someone who can drive you home: you should not drive yourself "
            "afterwards.",
            "Eat a light meal and drink plenty of water beforehand unless we have told you "
            "to fast because you will have sedation.",
            "Tell us before the day if you have a fever, an infection, are pregnant or might "
            "be, or have started a new medicine, especially a blood thinner.",
        ],
    ),
    Phase.DAYS_0_3: (
        "The first three days",
        [
            "Go home and take it easy today. Soreness, stiffness and a feeling of pressure where "
            "the injection went in are common for a few days.",
            "Short gentle walks are good. Avoid lifting, bending and twisting, exercise and "
            "long car journeys.",
            "You may shower after 24 hours; no baths, pools or hot tubs until the puncture sites "
            "have healed. For pain use {pain_reliever} and cold packs for 15 minutes at a time.",
        ],
    ),
    Phase.DAYS_4_14: (
        "Days four to fourteen",
        [
            "Gradually do more of your normal daily activities as comfort allows. Keep walking "
            "every day and build up the distance slowly.",
            "Still avoid heavy lifting, running, contact sport and high-impact exercise.",
            "Your phone call or visit with us around two weeks is a good time to ask questions.",
        ],
    ),
    Phase.WEEKS_2_6: (
        "Weeks two to six",
        [
            "This is when guided activity matters most. Start or restart the physical therapy "
            "exercises you were given, increasing them step by step.",
            "Some days will be better than others. Any change after these treatments tends to "
            "come over weeks to months rather than days, and it differs from person to person.",
            "Please fill in your questionnaires when we ask: they show you and us how you are "
            "progressing.",
        ],
    ),
    Phase.AFTER_6_WEEKS: (
        "After six weeks",
        [
            "Most people can return to their usual activities and exercise now, building up "
            "over the coming weeks. Keep up your exercise programme.",
            "We will check in with you at around three, six and twelve months. Let us know "
            "sooner if your pain comes back or changes.",
        ],
    ),
}


def locale_words(locale: str) -> dict[str, str]:
    return LOCALES.get(locale, LOCALES["US"])


def sample_warning_signs(therapy: str, locale: str = "US") -> str:
    """The warning-signs block: one sign a line, then when to call 911."""
    words = locale_words(locale)
    signs = [sign.format(**words) for sign in WARNING_SIGNS]
    if therapy in HARVEST_NOTE:
        signs.append(HARVEST_SIGN)
    lines = ["Call the clinic straight away, day or night, if you have:", *signs]
    return "\n".join([*lines, EMERGENCY_SIGNS])


def sample_text(therapy: str, phase: Phase, locale: str = "US") -> tuple[str, str]:
    """(title, body) of the shipped sample for one therapy and phase, in the clinic's words."""
    title, paragraphs = BASE[phase]
    paragraphs = list(paragraphs)
    if therapy in ("prp", "bmac") and phase in (
        Phase.PRE_PROCEDURE,
        Phase.DAYS_0_3,
        Phase.DAYS_4_14,
    ):
        paragraphs.append(NSAID_NOTE)
    if therapy in HARVEST_NOTE and phase is Phase.DAYS_0_3:
        paragraphs.insert(1, HARVEST_NOTE[therapy])
    words = locale_words(locale)
    return title, "\n\n".join(p.format(**words) for p in paragraphs)
