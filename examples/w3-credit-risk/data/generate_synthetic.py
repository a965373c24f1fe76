#!/usr/bin/env python3
"""Writes synthetic_credit_risk.csv: SYNTHETIC loan rows in W3's columns, made up by a seeded generator.

No real person or loan is behind any row. Columns: id, loan_date, loan_amount, birthday, job_start_date,
flag_own_car (Y/N), status (1 = the loan went bad). The bad-loan probability rises with the number of earlier
loans and the amount, and falls with age, years on the job and owning a car, so a model has something to learn.
Deterministic: the same file on every run (Python's random.Random with a fixed seed, standard library only).
Usage: python3 generate_synthetic.py [rows_of_customers] > synthetic_credit_risk.csv
"""
import datetime
import math
import random
import sys


def main() -> None:
    customers = int(sys.argv[1]) if len(sys.argv) > 1 else 700
    rng = random.Random(20240501)
    day = datetime.date.fromordinal
    start, end = datetime.date(2015, 1, 1).toordinal(), datetime.date(2020, 12, 31).toordinal()
    print("id,loan_date,loan_amount,birthday,job_start_date,flag_own_car,status")
    for customer in range(1, customers + 1):
        birthday = day(rng.randint(datetime.date(1950, 1, 1).toordinal(), datetime.date(1999, 12, 31).toordinal()))
        adult = birthday.toordinal() + 18 * 365 + 5
        job_start = day(rng.randint(adult, max(adult, start - 30)))
        car = "Y" if rng.random() < 0.45 else "N"
        dates = sorted(rng.randint(start, end) for _ in range(rng.choice([1, 1, 1, 2, 2, 3, 4, 5])))
        for previous, loan in enumerate(dates):
            amount = round(math.exp(rng.gauss(8.5, 0.7)), 2)
            age = (loan - birthday.toordinal()) / 365.25
            tenure = (loan - job_start.toordinal()) / 365.25
            z = -1.6 + 0.55 * previous + 0.00012 * amount - 0.045 * (age - 40) - 0.09 * tenure
            z -= 0.6 if car == "Y" else 0.0
            status = 1 if rng.random() < 1 / (1 + math.exp(-z)) else 0
            print(f"{customer},{day(loan)},{amount},{birthday},{job_start},{car},{status}")


if __name__ == "__main__":
    main()
