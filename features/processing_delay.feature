@KB-13
Feature: The client needs time to process a new contact's certificate
  After adding or updating a contact, the certificate becomes usable for
  encryption only after a few minutes, or after the client restarts.

  Background:
    Given Contoso and Fabrikam each run their own key management
    And UserA is enrolled at Contoso
    And UserB is enrolled at Fabrikam
    And UserA trusts Fabrikam's certificate authority
    And the client processing delay is 5 minutes
    And UserB sends a signed message to UserA
    And UserA opens the last message from UserB
    And UserA adds UserB to Contacts

  Scenario: Straight after adding the contact, encryption is not yet available
    When UserA sends an encrypted message to UserB
    Then UserA is told "None of the recipients can process an encrypted message. You can either proceed with an unencrypted message or cancel the operation"

  Scenario Outline: After the delay, encryption works; before it, it does not
    When <minutes> minutes pass
    And UserA sends an encrypted message to UserB
    Then the outcome is "<outcome>"

    Examples:
      | minutes | outcome |
      | 1       | prompt  |
      | 4       | prompt  |
      | 5       | sent    |
      | 30      | sent    |

  Scenario: Restarting the client makes the certificate usable at once
    When UserA restarts the mail client
    And UserA sends an encrypted message to UserB
    Then the message is sent encrypted
    And UserB can read the message
