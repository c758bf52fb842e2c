"""Write the labelled routing set (train.jsonl, test.jsonl) from the prompts below.

The prompts were written for claude-arch. Labels: ``fast`` (a Haiku-class model does it well:
single facts, short rewrites, translation, classification, extraction, summaries, chit-chat),
``balanced`` (multi-step writing, everyday code, structured analysis), ``deep`` (hard proofs,
long multi-constraint reasoning, large designs). The split is fixed: 70% train, 30% test, by a
seeded shuffle within each tier. The ``EXTRA_*`` prompts, written later, are for training only:
they are appended to train.jsonl after the split, which they leave as it was (test.jsonl is byte
for byte the same). Run ``python bench/data/routing/build_dataset.py`` to rebuild.
"""

# ruff: noqa: E501 - prompts are data
from __future__ import annotations

import json
import random
from pathlib import Path

HERE = Path(__file__).parent
SEED = 12
EXTRA_SEED = 1212

FAST_FACTS = [
    "What is the capital of Australia?",
    "How many bones are in the adult human body?",
    "Who wrote 'One Hundred Years of Solitude'?",
    "What year did the Berlin Wall fall?",
    "What's the boiling point of water at sea level in Fahrenheit?",
    "Which planet has the most moons?",
    "What does HTTP 418 mean?",
    "What is the chemical symbol for tungsten?",
    "How far is the Moon from Earth, roughly?",
    "Who painted the ceiling of the Sistine Chapel?",
    "What's the default port for PostgreSQL?",
    "What is the largest ocean?",
    "When is the summer solstice in the northern hemisphere?",
    "What's the plural of 'cactus'?",
    "What does the acronym GDPR stand for?",
    "Quelle est la capitale du Canada ?",
    "¿Cuántos continentes hay?",
    "Wie hoch ist die Zugspitze?",
    "What time zone is Tokyo in?",
    "How many ounces are in a pound?",
    "What's 15% of 80?",
    "What is 7 times 8?",
    "Convert 100 km to miles.",
    "What's the square root of 144?",
    "Is 97 a prime number?",
    "How many days are in a leap year?",
    "What is the speed of light in a vacuum?",
    "Who is the author of the Python language?",
    "What does 'ephemeral' mean?",
    "Give me a synonym for 'happy'.",
    "What's the opposite of 'generous'?",
    "How do you say 'thank you' in Japanese?",
    "What is the currency of Switzerland?",
    "Which gas do plants absorb from the air?",
    "What is the freezing point of mercury?",
    "How many players are on a football (soccer) team on the field?",
    "What's the tallest mountain in Africa?",
    "In which country is the Atacama Desert?",
    "What does RAM stand for?",
    "Which element has atomic number 1?",
    "What's the command to list files in Linux?",
    "What git command shows the commit history?",
    "What is the longest river in Europe?",
    "Who discovered penicillin?",
    "What's the area of a circle with radius 3?",
    "How many minutes are in 3.5 hours?",
    "What's the population of Iceland, approximately?",
    "What is a haiku?",
    "Define 'photosynthesis' in one sentence.",
    "What does 'per se' mean?",
    "Qual é a capital do Brasil?",
    "Come si dice 'good night' in italiano?",
    "What is the ISO code for the euro?",
    "What's the difference between weather and climate, in one line?",
    "Which vitamin does sunlight help the body produce?",
    "What is the main ingredient in guacamole?",
    "How many strings does a standard guitar have?",
    "What's the UTC offset of New York in winter?",
    "When did the first iPhone come out?",
    "What is the hardest natural substance?",
]

FAST_CHAT = [
    "hi",
    "Hello! How are you today?",
    "thanks, that helped a lot",
    "Good morning!",
    "hey there",
    "Thank you so much!",
    "bonjour, ça va ?",
    "hola, ¿qué tal?",
    "ok cool",
    "lol that's funny",
    "Tell me a joke about cats.",
    "Can you recommend a good movie for tonight?",
    "I'm bored, say something interesting.",
    "What's your favourite colour?",
    "good night!",
    "Are you a robot?",
    "Give me a fun fact.",
    "Say hi to my friend Sam.",
    "I just got a new puppy!",
    "What should I name my goldfish?",
    "Tell me something nice.",
    "Happy Friday!",
    "Any tips for falling asleep faster?",
    "What's a good name for a coffee shop?",
    "Suggest a quick breakfast idea.",
]

FAST_TRANSFORM = [
    "Translate to French: 'The meeting has been moved to Thursday.'",
    "Translate 'Where is the train station?' into German.",
    "Traduce al inglés: 'Me gustaría reservar una mesa para dos personas.'",
    "Translate this to Spanish: I'll be late, start without me.",
    "Übersetze ins Englische: 'Das Paket wurde gestern verschickt.'",
    "Translate into Italian: 'Our office is closed on public holidays.'",
    "Traduire en anglais : « Merci de confirmer votre présence avant vendredi. »",
    "Translate to Portuguese: 'Please send me the invoice by email.'",
    "Translate 'customer satisfaction survey' into Japanese.",
    "Rephrase more politely: 'Send me the report now.'",
    "Make this sentence shorter: 'At this point in time we are not in a position to offer a refund.'",
    "Fix the grammar: 'Me and him goes to the store yesterday.'",
    "Proofread: 'Their going to announce the results tommorow.'",
    "Rewrite in a friendlier tone: 'Your request has been denied.'",
    "Turn this into a bullet list: milk, eggs, bread, coffee, apples.",
    "Capitalize this title properly: 'the lord of the rings: the return of the king'",
    "Convert to passive voice: 'The committee approved the budget.'",
    "Spell-check: 'recieve, seperate, definately, occured'",
    "Make this formal: 'hey, can u send the file asap?'",
    "Write this date in ISO format: March 5th, 2024.",
    "Shorten this to under 10 words: 'We would like to inform you that your order has shipped today.'",
    "Change to past tense: 'She walks to work and buys a coffee.'",
    "Give me a one-line summary of the plot of Romeo and Juliet.",
    "Turn '3 eggs, 200g flour, 1 cup milk' into a JSON object.",
    "Sort these alphabetically: pear, apple, mango, banana, cherry.",
    "Convert this CSV line to JSON: name,age\\nAlice,31",
    "Reword this headline to sound less clickbaity: 'You Won't BELIEVE What This Cat Did!'",
    "Rewrite 'utilize' in plain English.",
    "Expand the abbreviation 'e.g.' and use it in a sentence.",
    "Translate to Dutch: 'The store opens at nine.'",
]

FAST_CLASSIFY = [
    "Classify the sentiment of this review: 'The battery died after two days. Useless.'",
    "Is this email spam? 'Congratulations! You won a $1000 gift card, click here.'",
    "Categorize this support ticket: 'I was charged twice for my subscription.'",
    "Sentiment (positive/negative/neutral): 'The food was okay, nothing special.'",
    "Which department should handle: 'My password reset link doesn't work'?",
    "Tag the language of this sentence: 'Dziękuję bardzo za pomoc.'",
    "Is this a question or a statement: 'I wonder if the store is open'",
    "Classify as bug report or feature request: 'It would be great to export to PDF.'",
    "Label the topic: 'The central bank raised interest rates by 50 basis points.'",
    "Is the following tweet sarcastic? 'Oh great, another Monday. Just what I needed.'",
    "Classify this product into a category: 'Stainless steel 12-cup coffee maker'",
    "Urgent or not urgent: 'Production database is down for all customers.'",
    "Extract the email address from: 'Reach me at jane.doe@example.org after 5pm.'",
    "Extract all dates from: 'We met on 3 May 2021 and again on 14 June 2022.'",
    "Pull out the company names: 'Acme Corp signed a deal with Globex and Initech.'",
    "What is the total in this receipt line: '2 x coffee 3.50, 1 x croissant 2.20'?",
    "Extract the phone number: 'Call our office on +44 20 7946 0958 during business hours.'",
    "From this address, give me the postcode: '10 Downing Street, London SW1A 2AA'",
    "Find the person's name and job title: 'Dr. Maria Okafor, Chief Medical Officer, spoke today.'",
    "Extract the order number from: 'Your order #A-55821 has shipped.'",
    "Which of these is a fruit: carrot, tomato, potato?",
    "Is 'The Godfather' a comedy or a drama?",
    "Detect the intent: 'I want to cancel my plan.'",
    "Classify this headline as politics, sports, tech or business: 'Startup raises $40M Series B'",
    "Yes or no: does this sentence contain a person's name? 'The report is due Friday.'",
]

FAST_SUMMARY_SHORT = [
    "Summarize in one sentence: The city council met on Tuesday to discuss the new bike lanes. "
    "After two hours of debate, they voted 7 to 2 to approve a pilot program on Main Street "
    "starting in April.",
    "TL;DR: Our Q3 revenue grew 12% year over year, driven mostly by the enterprise segment, "
    "while consumer sales were flat. Operating costs rose 4%. We expect similar growth in Q4.",
    "Summarise this message for me: 'Hi team, the offsite is moved from the 12th to the 19th "
    "because the venue double-booked. Same time, same place. Please update your calendars.'",
    "Give me the key point: 'Due to scheduled maintenance, the customer portal will be "
    "unavailable on Saturday from 01:00 to 05:00 UTC. No action is needed.'",
    "Summarize: The patient reports mild headache for three days, no fever, no nausea, normal "
    "sleep. Took ibuprofen twice with partial relief.",
]

BALANCED_WRITING = [
    "Write a 500-word blog post about the benefits of remote work for small teams, with a catchy "
    "title and three subheadings.",
    "Draft a cover letter for a junior data analyst position at a healthcare company. I have a "
    "statistics degree and one internship.",
    "Write a persuasive email to my landlord asking to delay the rent increase by six months, "
    "mentioning I've been a tenant for 4 years and always paid on time.",
    "Create a one-week meal plan for a vegetarian family of four on a budget, with a shopping list.",
    "Write a product description for a handmade ceramic mug, about 150 words, warm tone.",
    "Draft a project kickoff agenda for a 60-minute meeting with engineering, design and sales.",
    "Write a short story (about 600 words) about a lighthouse keeper who finds a message in a bottle.",
    "Write a LinkedIn post announcing our company's new sustainability program, 200 words.",
    "Compose a wedding toast for my sister, funny but touching, about 3 minutes long.",
    "Write a press release for the launch of a budgeting app aimed at students.",
    "Create a lesson plan for teaching fractions to 10-year-olds, 45 minutes, with activities.",
    "Write a complaint letter to an airline about a lost suitcase, asking for compensation.",
    "Draft the FAQ section for a bike rental website, 8 questions with answers.",
    "Write a poem about autumn in the style of a sonnet.",
    "Rédige un courriel professionnel pour proposer un partenariat à une agence de voyages.",
    "Escribe un artículo de 400 palabras sobre los beneficios de caminar cada día.",
    "Schreibe eine Einladung zu unserem Sommerfest mit Programm und Anfahrtsbeschreibung.",
    "Write a performance review for an employee who exceeded sales targets but struggles with "
    "deadlines. Be constructive.",
    "Write the script for a 2-minute explainer video about how vaccines work.",
    "Create a job description for a customer success manager at a SaaS startup.",
    "Write a grant proposal summary (300 words) for a community garden project.",
    "Plan a 5-day itinerary for Lisbon for a couple who like food and history.",
    "Write a newsletter for our gym members announcing new classes and a holiday schedule.",
    "Draft an apology email to customers for a 6-hour outage, explaining what we are doing next.",
    "Write a speech for a retirement party for a teacher who worked 30 years at our school.",
    "Outline a 10-chapter nonfiction book about personal finance for freelancers.",
    "Write a children's bedtime story about a brave little turtle, with a gentle moral.",
    "Create an onboarding checklist for new hires in a 50-person marketing agency.",
]

BALANCED_CODE = [
    "Write a Python function that checks whether a string is a palindrome, ignoring punctuation "
    "and case, with a few tests.",
    "Why does this JavaScript print undefined?\n```js\nfunction f() { return\n  {a: 1}; }\n"
    "console.log(f());\n```",
    "Write a SQL query that returns the top 5 customers by total order value in 2023 from tables "
    "customers(id, name) and orders(id, customer_id, total, created_at).",
    "Refactor this into smaller functions:\n```python\ndef process(data):\n    out = []\n    for d "
    "in data:\n        if d['active'] and d['age'] > 18:\n            d['name'] = d['name'].strip()"
    ".title()\n            out.append(d)\n    out.sort(key=lambda x: x['age'])\n    return out\n```",
    "Write a bash script that backs up /var/www to a dated tar.gz and deletes backups older than "
    "7 days.",
    "Explain what this regex does: ^(?=.*[A-Z])(?=.*\\d)[A-Za-z\\d]{8,}$",
    "I get 'TypeError: Cannot read properties of undefined (reading map)' in my React component. "
    "How do I debug it?",
    "Write a Dockerfile for a Flask app with gunicorn, using a slim Python image.",
    "Convert this Python list comprehension into a regular for loop: [x*x for x in nums if x % 2]",
    "Write unit tests with pytest for a function add(a, b) that also handles strings of digits.",
    "How do I read a CSV file in pandas and group by a column to get the mean?",
    "Write a TypeScript interface for a user with id, email, optional phone and a list of roles.",
    "Fix the bug:\n```python\ndef avg(xs):\n    return sum(xs) / len(xs)\nprint(avg([]))\n```",
    "Write a Go HTTP handler that returns the current time as JSON.",
    "What's the difference between `let`, `const` and `var` in JavaScript? Show examples.",
    "Write a GitHub Actions workflow that runs pytest on Python 3.11 and 3.12.",
    "Implement binary search in Rust and explain the edge cases.",
    "Write a Python script that renames all .jpeg files in a folder to .jpg.",
    "Create a REST API endpoint in Express that validates a JSON body with name and email.",
    "My SQL query is slow: SELECT * FROM orders WHERE YEAR(created_at) = 2024. How can I speed "
    "it up?",
    "Write a Kubernetes deployment YAML for an nginx container with 3 replicas and a service.",
    "Explain this stack trace and suggest a fix: java.lang.NullPointerException at "
    "com.shop.Cart.total(Cart.java:42)",
    "Write a function in Java that merges two sorted arrays.",
    "How do I undo the last git commit but keep my changes?",
    "Write a Python class for a bank account with deposit, withdraw and an overdraft check.",
    "Escribe una función en JavaScript que elimine los duplicados de un array de objetos por id.",
    "Write a regex that matches UK postcodes and explain each part.",
    "Turn this callback code into async/await:\n```js\nfs.readFile('a.txt', (err, data) => {\n"
    "  if (err) throw err;\n  console.log(data.toString());\n});\n```",
]

BALANCED_ANALYSIS = [
    "Compare PostgreSQL and MongoDB for an e-commerce product catalog. Give a table of pros and "
    "cons and a recommendation.",
    "Analyse the pros and cons of leasing versus buying a car for someone who drives 20,000 km a "
    "year.",
    "Here are our monthly signups: Jan 120, Feb 135, Mar 128, Apr 160, May 190, Jun 185. "
    "Describe the trend and suggest two hypotheses.",
    "Compare three project management tools (Jira, Trello, Asana) for a 12-person startup.",
    "Do a SWOT analysis for a small independent bookstore in a university town.",
    "Explain the main causes of the 2008 financial crisis in a structured way.",
    "What are the trade-offs between microservices and a monolith for a team of five developers?",
    "Given these survey results (satisfaction: 62% happy, 25% neutral, 13% unhappy; top "
    "complaint: delivery time), write an executive summary with three recommendations.",
    "Compare the nutritional value of quinoa, brown rice and couscous.",
    "Create a decision matrix to help me choose between three job offers with different salary, "
    "commute and growth.",
    "Explain how compound interest works with an example over 10 years at 5%.",
    "Analyze the tone and argument structure of this paragraph: 'Cities should ban cars from "
    "their centres. Pollution falls, shops do better, and people walk more.'",
    "Explain the difference between a Roth IRA and a traditional IRA with a comparison table.",
    "What factors should I consider when choosing between a heat pump and a gas boiler?",
    "Summarize the key arguments for and against a four-day work week, with sources of evidence "
    "to look up.",
    "Evaluate this business idea: a subscription service for refurbished office chairs.",
    "Compare Python, Go and Rust for writing a CLI tool, considering speed, ease and ecosystem.",
    "Break down the costs of running a food truck for the first year.",
    "Explain the CAP theorem with practical examples of databases in each category.",
    "Analysiere die Vor- und Nachteile von Solaranlagen für ein Einfamilienhaus in Deutschland.",
]

DEEP = [
    "Prove that the square root of 2 is irrational, then generalize the proof to the square root "
    "of any non-square integer.",
    "Prove that there are infinitely many primes of the form 4k+3.",
    "Design a globally distributed payment system that handles 50,000 transactions per second "
    "with exactly-once semantics, multi-region failover and PCI compliance. Cover data model, "
    "consistency, idempotency and disaster recovery.",
    "Prove or disprove: every continuous function on [0,1] is uniformly continuous. Give a "
    "rigorous epsilon-delta argument.",
    "Design the architecture for a real-time collaborative document editor like Google Docs, "
    "including the conflict resolution algorithm (CRDT vs OT), presence, offline mode and "
    "storage. Justify each choice.",
    "We have 14 engineers, 3 product lines, a hard regulatory deadline in 9 months, two legacy "
    "systems that must be migrated, and a hiring freeze. Build a detailed plan that sequences "
    "the work, identifies the critical path, quantifies risk and gives contingency options.",
    "Derive the closed-form solution of the Black-Scholes equation for a European call, stating "
    "every assumption, and discuss where the assumptions fail in real markets.",
    "Prove that the halting problem is undecidable and explain how Rice's theorem follows.",
    "Design a fault-tolerant distributed job scheduler for 100,000 workers across three data "
    "centres: leader election, work stealing, exactly-once execution, backpressure and "
    "observability.",
    "Given a weighted directed graph with negative edges but no negative cycles, design an "
    "algorithm for all-pairs shortest paths faster than Floyd-Warshall on sparse graphs, prove "
    "its correctness and analyse its complexity.",
    "Write a formal proof that the sum of the first n odd numbers is n^2 using strong induction, "
    "then prove the same result combinatorially.",
    "A hospital wants to schedule 40 nurses over 4 weeks with constraints on shifts, rest "
    "periods, skills, preferences, fairness and legal limits. Formulate it as an integer "
    "program, explain the solution approach and how to handle infeasibility.",
    "Design a multi-tenant data platform for a bank: ingestion from 200 sources, lineage, "
    "row-level security, GDPR deletion, and cost allocation per tenant. Give a full architecture "
    "with trade-offs.",
    "Analyse the security of this protocol: Alice sends E_k(nonce), Bob replies E_k(nonce+1), "
    "then both derive a session key from the nonce. Find attacks, prove what it does guarantee "
    "and propose a fixed protocol.",
    "Prove that every planar graph is 5-colorable.",
    "Our ML model's accuracy dropped from 94% to 81% in production over three weeks. Data "
    "pipeline, feature store, model version and traffic mix all changed in that time. Lay out a "
    "rigorous investigation plan that isolates the cause, with statistical tests for each "
    "hypothesis.",
    "Design an end-to-end encrypted messaging protocol with forward secrecy and post-compromise "
    "security for group chats of up to 1,000 members. Compare with the Signal and MLS approaches.",
    "Démontrez que toute suite réelle bornée admet une sous-suite convergente (Bolzano-"
    "Weierstrass), puis discutez de la généralisation aux espaces métriques compacts.",
    "Demuestra rigurosamente que e es irracional.",
    "Design the system architecture for a ride-hailing platform at city scale: matching, "
    "pricing, geospatial indexing, payments and fraud detection, with capacity estimates.",
    "Evaluate whether our company should migrate from on-premise Oracle to a cloud data "
    "warehouse, considering 12 years of stored procedures, 40 downstream reports, regulatory data "
    "residency in three countries, a 2-year budget and staff skills. Give a phased plan with "
    "decision gates.",
    "Prove that the eigenvalues of a real symmetric matrix are real and that eigenvectors of "
    "distinct eigenvalues are orthogonal, then explain the spectral theorem.",
    "Write a rigorous analysis of the time and space complexity of quicksort with random pivots, "
    "including the expected number of comparisons and a high-probability bound.",
    "Design a compiler pipeline for a small functional language with type inference "
    "(Hindley-Milner), closures and tail calls, targeting WebAssembly. Explain each phase.",
    "A supply chain has 6 factories, 20 warehouses and 300 stores, with seasonal demand, "
    "capacity limits, lead times and carbon targets. Build a multi-constraint optimisation "
    "strategy and explain how to validate it.",
    "Prove that a tree with n vertices has exactly n-1 edges, then prove Cayley's formula for "
    "the number of labelled trees.",
    "Design a consensus protocol for a permissioned blockchain tolerating f Byzantine nodes out "
    "of 3f+1 and prove its safety and liveness properties.",
    "Critically assess this legal situation under EU law: a German startup processes health data "
    "of French users on US servers, using a processor in India. Identify every compliance issue, "
    "the relevant articles, and a remediation plan.",
    "Formally verify that this mutual exclusion algorithm is correct for two processes, or find "
    "a counterexample trace: flag[i]=true; turn=j; while(flag[j] && turn==j); critical section; "
    "flag[i]=false.",
    "Design a recommendation system for a streaming service with 80 million users: candidate "
    "generation, ranking, cold start, feedback loops, fairness, offline/online evaluation, and "
    "serving latency under 50 ms.",
]

TOPICS = [
    ("the quarterly sales meeting", "revenue, churn and the new pricing"),
    ("a product design review", "onboarding, accessibility and mobile layout"),
    ("the incident post-mortem", "the database failover and alerting gaps"),
    ("a parent-teacher meeting", "homework load and the school trip"),
    ("the city planning hearing", "traffic, housing and a new park"),
    ("our research group's weekly sync", "the experiment delays and the paper deadline"),
    ("the board meeting", "the acquisition offer and the hiring plan"),
    ("a customer interview", "pricing complaints and feature requests"),
]
SENTENCES = [
    "{who} opened by reviewing the numbers from last month and noted that {what} dominated "
    "the discussion.",
    "Several people raised concerns about timelines, and it was agreed that owners would be "
    "named for each open item.",
    "A long debate followed about whether to postpone the decision until more data is available.",
    "Someone pointed out that the previous plan had underestimated the effort by about a third.",
    "The group listed risks, including budget overruns, vendor delays and staff turnover.",
    "There was general agreement that communication between teams had improved since spring.",
    "Action items were assigned, and a follow-up was scheduled for two weeks from now.",
    "Questions from the floor focused on costs and on what customers would notice first.",
    "The chair summarised the positions and asked for written comments by Friday.",
    "It was noted that the figures in the appendix had not yet been checked by finance.",
]


def long_document(rng: random.Random, topic: tuple[str, str], paragraphs: int) -> str:
    """Meeting notes of ``paragraphs`` paragraphs about ``topic``."""
    who = rng.choice(["The chair", "Our manager", "The lead", "Dana", "Mr. Osei", "Priya"])
    out = []
    for _ in range(paragraphs):
        picks = rng.sample(SENTENCES, 5)
        out.append(" ".join(s.format(who=who, what=topic[1]) for s in picks))
    return "\n\n".join(out)


def long_prompts(rng: random.Random) -> list[tuple[str, str]]:
    """Long-document prompts: summaries and extraction (fast), structured analysis (balanced),
    multi-constraint synthesis (deep)."""
    out: list[tuple[str, str]] = []
    for i, topic in enumerate(TOPICS * 3):
        doc = long_document(rng, topic, rng.randint(6, 30))
        kind = i % 6
        if kind in (0, 1):
            out.append(
                (f"Summarize these notes from {topic[0]} in five bullet points:\n\n{doc}", "fast")
            )
        elif kind == 2:
            out.append(
                (f"Extract every action item and its owner from these notes:\n\n{doc}", "fast")
            )
        elif kind == 3:
            out.append((f"TL;DR of the following:\n\n{doc}", "fast"))
        elif kind == 4:
            out.append(
                (
                    f"Analyse these notes from {topic[0]}: group the issues by theme, rank "
                    f"them by impact, and draft a follow-up email with a table of owners and "
                    f"dates.\n\n{doc}",
                    "balanced",
                )
            )
        else:
            out.append(
                (
                    f"Using these notes from {topic[0]}, build a 12-month strategy that "
                    f"resolves every conflicting requirement raised, quantifies the risks, "
                    f"and justifies each trade-off against the budget, staffing and "
                    f"regulatory constraints. Consider second-order effects.\n\n{doc}",
                    "deep",
                )
            )
    return out


ARITH_FAST = [
    "What is {a} + {b}?",
    "What's {a} times {b}?",
    "Compute {a} minus {b}.",
    "Is {a} divisible by 3?",
    "Round {a}.{b} to the nearest whole number.",
]
ARITH_BALANCED = [
    "A shop sells pens at ${a} per dozen. If I buy {b} pens and get 10% off, how much do I pay? "
    "Show your steps.",
    "A train leaves at 9:00 going {a} km/h; another leaves the same station at 10:00 going "
    "{b} km/h. When does the second catch up? Explain.",
    "Solve the system: {a}x + 2y = {b}, x - y = 3. Show the working.",
]


def arithmetic(rng: random.Random) -> list[tuple[str, str]]:
    out = []
    for _ in range(30):
        a, b = rng.randint(12, 999), rng.randint(2, 99)
        out.append((rng.choice(ARITH_FAST).format(a=a, b=b), "fast"))
    for _ in range(12):
        a, b = rng.randint(2, 120), rng.randint(20, 150)
        out.append((rng.choice(ARITH_BALANCED).format(a=a, b=b), "balanced"))
    return out


# --- Training only -------------------------------------------------------------------------------
# Written later for claude-arch (issue #12's second round) to give the embedding classifier more
# varied examples: the same tier definitions and about the same mix (60% fast, 29% balanced, 11%
# deep), other topics, phrasings and languages. They are appended to train.jsonl after the split
# above, which they do not touch: test.jsonl stays byte for byte what it was, and none of these
# was written by looking at it.

EXTRA_FAST = [
    "Who was the first woman to win a Nobel Prize?",
    "What is the capital of Mongolia?",
    "How many sides does a hexagon have?",
    "Which language is spoken in Brazil?",
    "What's the melting point of iron?",
    "Name the largest desert in the world.",
    "What does CPU stand for?",
    "What is the national animal of Scotland?",
    "In what year did the Second World War end?",
    "How long does light from the Sun take to reach Earth?",
    "Which organ produces insulin?",
    "What is the smallest prime number?",
    "Wer hat die Relativitätstheorie entwickelt?",
    "¿Cuál es el río más largo de América del Sur?",
    "Quel est le plus haut sommet des Alpes ?",
    "Qual è la capitale della Slovenia?",
    "What port does HTTPS use by default?",
    "What does the sudo command do?",
    "Which keyboard shortcut undoes an action on a Mac?",
    "Crocodile vs alligator: what's the quickest way to tell them apart?",
    "Define 'serendipity'.",
    "What's another word for 'quickly'?",
    "Meaning of the idiom 'break the ice'?",
    "What is the past participle of 'swim'?",
    "Explain what a noun is in one sentence.",
    "What does ETA mean in an email?",
    "Is it 'affect' or 'effect' in: 'The weather will ___ our plans'?",
    "What does the folded-hands emoji usually mean?",
    "hey, what's up?",
    "Good evening! Long day today.",
    "thx!",
    "Merci beaucoup !",
    "guten Morgen",
    "Tell me a riddle.",
    "I passed my driving test today!",
    "Can you cheer me up?",
    "What's a good board game for four people?",
    "Recommend a podcast about history.",
    "Which is better, cats or dogs? Just for fun.",
    "Say goodnight in three languages.",
    "Translate 'I love this song' into Korean.",
    "Translate to German: 'Please close the door behind you.'",
    "Put this into plain English: 'Pursuant to the aforementioned clause, remittance is due forthwith.'",
    "Rewrite as a tweet: 'We are pleased to announce that our new store opens on Saturday at 10am.'",
    "Make this sound more confident: 'I think maybe I could possibly help with the project.'",
    "Convert 72 degrees Fahrenheit to Celsius.",
    "Turn this sentence into a question: 'The train leaves at six.'",
    "Lowercase everything: 'PLEASE READ THE INSTRUCTIONS CAREFULLY'",
    "Rewrite in British spelling: 'The color of the theater was gray.'",
    "Give me three hashtags for a photo of a sunset at the beach.",
    "Write a subject line for an email that moves a dentist appointment to next week.",
    "Convert 'Sat, 14 Sep 2024 18:30' to the format YYYY-MM-DD HH:MM.",
    "Traduis en espagnol : « Le train a dix minutes de retard. »",
    "Reply yes, politely, to a colleague asking if I can join the call at 3.",
    "Positive or negative: 'Delivery was fast and the shoes fit perfectly.'",
    "Is this message urgent? 'Reminder: team lunch next Thursday.'",
    "Which category: 'Refund not received after 14 days': billing, shipping or technical?",
    "Detect the language: 'Obrigado pela sua ajuda.'",
    "Extract the city names: 'We flew from Lisbon to Oslo and then took a train to Bergen.'",
    "Get the price from: 'Now only €49.99, down from €79!'",
    "Pull the deadline out of this: 'Applications close at midnight on 30 April.'",
    "Is 'Apple' a company or a fruit in: 'Apple reported record iPhone sales.'?",
    "Rate this review from 1 to 5 stars: 'Decent hotel, noisy at night, great breakfast.'",
    "Give me the username in the URL https://example.com/users/octocat/profile",
    "Toxic or not toxic: 'You're an idiot and nobody likes your posts.'",
    "Which of these words is misspelled: necessary, accomodate, rhythm?",
    "Find the hex colour code in: 'Use #1E90FF for the header background.'",
    "Complaint, compliment or question: 'Why does the app log me out every day?'",
    "What is 12 squared?",
    "How much is 250 divided by 5?",
    "What's 3/4 as a percentage?",
    "Add 1,250 and 3,780.",
    "How many seconds are in an hour?",
    "What is 18% of 250?",
    "Round 3.14159 to two decimal places.",
    "Is 221 a prime number?",
    "Summarize in a sentence: The library will stay open until 9pm on weekdays from next month, "
    "after a survey showed strong demand from students.",
    "One-line gist: 'Hi all, the printer on floor 3 is fixed, but please stop printing full-colour "
    "slides: toner is expensive.'",
]

EXTRA_BALANCED = [
    "Write a thank-you note to a mentor who helped me get my first job, about 150 words.",
    "Draft a polite reminder email to a client whose invoice is 30 days overdue, with a clear next "
    "step.",
    "Write a 300-word article explaining why sleep matters for teenagers, for a school newsletter.",
    "Create a social media content calendar for a bakery for one month, three posts a week.",
    "Write a short motivational speech for a youth football team before a final.",
    "Draft a job posting for a part-time barista, including responsibilities and perks.",
    "Write a short fairy tale about a dragon who is afraid of fire, for 6-year-olds.",
    "Write a limerick and a haiku about Monday mornings, then explain how the two forms differ.",
    "Écris une lettre de motivation pour un stage dans une maison d'édition.",
    "Escribe un correo para pedir a mi jefe trabajar desde casa dos días por semana, con argumentos.",
    "Write a user guide section explaining how to reset a smart thermostat, step by step.",
    "Write meeting minutes from these points: budget approved, launch moved to May, Tom to hire two "
    "testers, next sync Friday.",
    "Write a Python function that counts word frequencies in a text file and prints the top 10.",
    "How do I center a div horizontally and vertically with CSS flexbox?",
    "Write a shell one-liner to find the 10 largest files under the current directory, and explain "
    "it.",
    "Write a C function that reverses a linked list in place.",
    "Explain the difference between a process and a thread, with an example in Python.",
    "Write a SQL query to find duplicate email addresses in a users table.",
    "My Node.js server crashes with 'EADDRINUSE: address already in use :::3000'. What should I do?",
    "Write a small React component that shows a counter with increment and reset buttons.",
    "Add type hints and a docstring to: def area(w, h): return w * h",
    "Write a Makefile with build, test and clean targets for a C project.",
    "How do I parse JSON in Go into a struct with nested fields?",
    "Write a Python script that pings a list of hosts and reports which ones are down.",
    "Rewrite with map and filter in JavaScript: for (const x of xs) { if (x > 0) out.push(x * 2); }",
    "Explain what git rebase -i HEAD~3 does and when to use it.",
    "Compare renting and buying a home in a city where prices rose 8% a year, for someone planning "
    "to stay five years.",
    "What are the advantages and drawbacks of electric scooters for city commuting? Give a balanced "
    "view.",
    "Our churn went from 3% to 5% a month after a price increase. Walk me through how to tell "
    "whether the price caused it.",
    "Compare AWS Lambda, Google Cloud Run and a small VM for a low-traffic API, in a table.",
    "Explain inflation to a 12-year-old, then give a more technical explanation for an adult.",
    "List the steps to prepare for a job interview at a tech company, with a timeline for the week "
    "before.",
    "Vergleiche Zug und Flugzeug für eine Reise von Berlin nach Paris nach Kosten, Zeit und CO2.",
    "Assess the risks of launching a mobile app without a beta test, and suggest mitigations.",
    "Explain how a bill becomes law in the United States, step by step.",
    "A recipe serves 4 and needs 300 g of flour and 2 eggs. How much do I need for 10 people? Show "
    "the calculation.",
    "If I save $250 a month at 4% annual interest compounded monthly, how much will I have after 3 "
    "years? Show the steps.",
    "A car uses 6.5 litres per 100 km and fuel costs 1.80 per litre. What does a 420 km trip cost, "
    "and how much would a car using 5 l/100 km save?",
]

EXTRA_DEEP = [
    "Show that every bounded monotone sequence of real numbers converges, and give a "
    "counterexample in the rationals.",
    "Find all integer solutions of x^2 - 2y^2 = 1 and justify that your description is complete.",
    "Beweisen Sie, dass die harmonische Reihe divergiert, und bestimmen Sie das asymptotische "
    "Wachstum ihrer Partialsummen.",
    "Derive the backpropagation equations for a two-layer neural network with softmax output and "
    "cross-entropy loss, and explain the vanishing gradient problem mathematically.",
    "Explain and derive the time complexity of Dijkstra's algorithm with a binary heap and with a "
    "Fibonacci heap, and show when each is better.",
    "Analyse the equilibrium of a sealed-bid second-price auction with three bidders with private "
    "values, explain why truthful bidding is dominant, then discuss what changes with collusion.",
    "Build a multi-region, active-active database layer for a global SaaS product with strict "
    "tenant isolation, reads under 100 ms and data residency in the EU; cover replication, "
    "conflict handling and failover.",
    "Plan the migration of a 15-year-old banking application with 2 million lines of COBOL to "
    "services, without downtime, with regulators auditing every step: the phases, the data "
    "migration, the testing strategy and the rollback plans.",
    "Construct a detailed threat model for a hospital's patient portal: attackers, assets, attack "
    "paths, likelihood and impact, and prioritised countermeasures.",
    "Our startup must choose between three go-to-market strategies with an 18-month runway, two "
    "investors with conflicting conditions and a regulatory approval that may slip by six months. "
    "Model the scenarios, quantify the risks and recommend a strategy with triggers for changing "
    "course.",
    "Given five conflicting requirements for a city's new public transport network (cost, "
    "coverage, emissions, accessibility, travel time), build a multi-objective evaluation framework "
    "and show how to pick a Pareto-optimal plan.",
    "Reconcile these constraints into one quarterly plan: 4 teams, 2 shared databases being "
    "upgraded, a security audit, a marketing launch date that cannot move, and 3 engineers on "
    "parental leave. Produce a schedule with dependencies and explain the trade-offs.",
    "Develop a pricing model for a usage-based API with three customer segments, volume discounts, "
    "a cost floor per request and a 70% gross margin goal; derive the formulas and test them on "
    "sample customers.",
    "Prove that there is no largest prime and that the gaps between consecutive primes can be "
    "arbitrarily large.",
]

EXTRA_THREADS = [
    ("the support inbox", "login failures after the app update"),
    ("a landlord's tenant messages", "the broken heating and the rent review"),
    ("the volunteer group chat", "the charity run and the missing permits"),
    ("a vendor negotiation", "delivery dates and penalty clauses"),
    ("the open-source maintainers' list", "the release schedule and a security report"),
]
EXTRA_MESSAGES = [
    "{who} wrote first, saying that {what} had been raised again by several people this week.",
    "A reply asked for exact dates, because the previous answer had been vague.",
    "Someone forwarded an older message that contradicted what had been promised in March.",
    "There was a request to move the discussion to a call, which nobody answered.",
    "A short message confirmed that the numbers had been checked and were correct.",
    "One person complained that decisions were being made without asking the people affected.",
    "The thread drifted for a while into a discussion of tools and who has access to what.",
    "A later message apologised for the delay and promised an update by the end of the week.",
    "Two people disagreed about priorities and each listed what they thought mattered most.",
    "The last message asked who would own the next step, and it was left without an answer.",
]


def extra_threads(rng: random.Random) -> list[tuple[str, str]]:
    """Long message threads (not meeting notes): summaries and extraction (fast), grouping and a
    drafted answer (balanced), a plan under constraints (deep)."""
    out: list[tuple[str, str]] = []
    for i, topic in enumerate(EXTRA_THREADS * 2):
        who = rng.choice(["Ana", "The manager", "A customer", "Tomás", "Ms. Lindqvist"])
        paragraphs = []
        for _ in range(rng.randint(5, 20)):
            picks = rng.sample(EXTRA_MESSAGES, 4)
            paragraphs.append(" ".join(m.format(who=who, what=topic[1]) for m in picks))
        thread = "\n\n".join(paragraphs)
        kind = i % 10
        if kind in (0, 1, 2, 5, 6, 7):
            instruction = rng.choice(
                [
                    f"Give me the gist of this thread from {topic[0]} in three sentences:",
                    "Who asked for what in these messages? A short list, please:",
                    f"Condense this thread about {topic[1]} into two lines:",
                ]
            )
            out.append((f"{instruction}\n\n{thread}", "fast"))
        elif kind in (3, 8, 4):
            out.append(
                (
                    f"Read this thread from {topic[0]}, sort the open issues by urgency, and write "
                    f"a reply that answers each one with a date and an owner.\n\n{thread}",
                    "balanced",
                )
            )
        else:
            out.append(
                (
                    f"From this thread about {topic[1]}, work out a plan for the next six months "
                    f"that satisfies every party's constraints, models what happens if each "
                    f"deadline slips, and defends each compromise.\n\n{thread}",
                    "deep",
                )
            )
    return out


def extra_train() -> list[tuple[str, str]]:
    """The training-only examples, in a fixed order (their own seed: the split is untouched)."""
    rows = [(p, "fast") for p in EXTRA_FAST]
    rows += [(p, "balanced") for p in EXTRA_BALANCED]
    rows += [(p, "deep") for p in EXTRA_DEEP]
    rows += extra_threads(random.Random(EXTRA_SEED))
    random.Random(EXTRA_SEED).shuffle(rows)
    return rows


def main(out: Path = HERE) -> None:
    """Write train.jsonl and test.jsonl into ``out``."""
    rng = random.Random(SEED)
    rows: list[tuple[str, str]] = []
    for group in (FAST_FACTS, FAST_CHAT, FAST_TRANSFORM, FAST_CLASSIFY, FAST_SUMMARY_SHORT):
        rows += [(p, "fast") for p in group]
    rows += [(p, "balanced") for p in BALANCED_WRITING + BALANCED_CODE + BALANCED_ANALYSIS]
    rows += [(p, "deep") for p in DEEP]
    rows += long_prompts(rng)
    rows += arithmetic(rng)
    train: list[tuple[str, str]] = []
    test: list[tuple[str, str]] = []
    for tier in ("fast", "balanced", "deep"):
        mine = [r for r in rows if r[1] == tier]
        rng.shuffle(mine)
        cut = round(len(mine) * 0.7)
        train += mine[:cut]
        test += mine[cut:]
    for name, part in (("train", train), ("test", test)):
        rng.shuffle(part)
        rows_out = part + extra_train() if name == "train" else part
        with (out / f"{name}.jsonl").open("w", encoding="utf-8") as f:
            for prompt, tier in rows_out:
                f.write(json.dumps({"prompt": prompt, "tier": tier}, ensure_ascii=False) + "\n")
    extra = len(extra_train())
    print(f"train {len(train) + extra} ({extra} of them training-only), test {len(test)}")


if __name__ == "__main__":
    main()
